//! Sigma conditions: `and`, `or`, `not`, parentheses, `1 of X*`, `all of X*`, `them`.

/// A parsed condition over the rule's selections (by index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// One named selection.
    Selection(usize),
    /// Negation.
    Not(Box<Expr>),
    /// All must hold.
    And(Vec<Expr>),
    /// One must hold.
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !word.is_empty() {
                tokens.push(Token::Word(std::mem::take(&mut word)));
            }
            match c {
                '(' => tokens.push(Token::Open),
                ')' => tokens.push(Token::Close),
                _ => {}
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(Token::Word(word));
    }
    tokens
}

/// Parses a condition against the rule's selection names.
pub fn parse(text: &str, names: &[String]) -> Result<Expr, String> {
    let tokens = tokenize(text);
    let mut parser = Parser {
        tokens,
        at: 0,
        names,
        depth: 0,
    };
    let expr = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(expr),
        Some(t) => Err(format!("unexpected {t:?} in condition")),
    }
}

/// Parentheses and `not`s a condition may nest: the parser, evaluation and drop all recurse,
/// and a rule file is evidence-grade input (a fuzzer's 100,000 `(` overflowed the stack).
const MAX_NESTING: usize = 64;

struct Parser<'n> {
    tokens: Vec<Token>,
    at: usize,
    names: &'n [String],
    depth: usize,
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.unary()?];
        while self.peek_word("and") {
            self.at += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        let expr = self.unary_within();
        self.depth -= 1;
        expr
    }

    fn unary_within(&mut self) -> Result<Expr, String> {
        if self.depth > MAX_NESTING {
            return Err(format!("condition nests deeper than {MAX_NESTING} levels"));
        }
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or("condition ends too early")?;
        self.at += 1;
        match token {
            Token::Open => {
                let inner = self.or()?;
                match self.tokens.get(self.at) {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err("missing ')' in condition".into()),
                }
            }
            Token::Close => Err("unexpected ')' in condition".into()),
            Token::Word(w) if w == "1" || w.eq_ignore_ascii_case("all") => self.quantified(&w),
            Token::Word(w) => self.selection(&w),
        }
    }

    fn quantified(&mut self, quantifier: &str) -> Result<Expr, String> {
        if !self.peek_word("of") {
            return Err(format!("'{quantifier}' must be followed by 'of'"));
        }
        self.at += 1;
        let Some(Token::Word(pattern)) = self.tokens.get(self.at).cloned() else {
            return Err(format!("'{quantifier} of' needs a name pattern or 'them'"));
        };
        self.at += 1;
        let chosen: Vec<Expr> = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                if pattern == "them" {
                    !n.starts_with('_')
                } else {
                    glob_match(&pattern, n)
                }
            })
            .map(|(i, _)| Expr::Selection(i))
            .collect();
        if chosen.is_empty() {
            return Err(format!("'{quantifier} of {pattern}' names no selection"));
        }
        Ok(if quantifier == "1" {
            Expr::Or(chosen)
        } else {
            Expr::And(chosen)
        })
    }

    fn selection(&self, name: &str) -> Result<Expr, String> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(Expr::Selection)
            .ok_or_else(|| format!("condition names '{name}', which the detection does not define"))
    }
}

/// Sigma name patterns: `*` matches any run of characters.
/// Whether `name` matches `pattern`, where `*` stands for any run of characters. Greedy with
/// one point to return to (the last `*`), so it takes time in proportion to the two lengths
/// multiplied, whatever the pattern: trying every split at every `*` took minutes for a
/// pattern of many stars (found by fuzzing).
fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                last_star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match last_star {
                // Let the last `*` take one character more, and try again after it.
                Some((star, taken)) => {
                    last_star = Some((star, taken + 1));
                    p = star + 1;
                    n = taken + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

impl Expr {
    /// Evaluates with `selection(i)` giving each selection's result (called lazily).
    pub fn eval(&self, selection: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Expr::Selection(i) => selection(*i),
            Expr::Not(e) => !e.eval(selection),
            Expr::And(es) => es.iter().all(|e| e.eval(selection)),
            Expr::Or(es) => es.iter().any(|e| e.eval(selection)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns_match_and_many_stars_take_no_time() {
        assert!(glob_match("selection_*", "selection_target"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(!glob_match("sel*", "se"));
        assert!(glob_match("*_target_raw*", "selection_target_raw_bytes"));
        assert!(glob_match("日本*", "日本語"));
        // Found by fuzzing: dozens of stars in a pattern that cannot match.
        let pattern = format!("sele{}.x{}ction_*", "*".repeat(40), "*".repeat(60));
        assert!(!glob_match(&pattern, "selection_target_raw_bytes"));
        assert!(glob_match(&pattern, "sele.xction_"));
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn eval(cond: &str, list: &[&str], truth: &[bool]) -> bool {
        parse(cond, &names(list)).unwrap().eval(&mut |i| truth[i])
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let n = ["a"];
        let deep = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep, &names(&n))
            .unwrap_err()
            .contains("nests deeper"));
        let nots = format!("{}a", "not ".repeat(100_000));
        assert!(parse(&nots, &names(&n)).is_err());
        let fine = format!("{}a{}", "(".repeat(60), ")".repeat(60));
        assert!(eval(&fine, &n, &[true]));
    }

    #[test]
    fn precedence_not_and_or() {
        let n = ["a", "b", "c"];
        assert!(eval("a or b and c", &n, &[true, false, false]));
        assert!(!eval("(a or b) and c", &n, &[true, false, false]));
        assert!(eval("not a and b", &n, &[false, true, false]));
        assert!(!eval("not (a or b)", &n, &[false, true, false]));
    }

    #[test]
    fn quantifiers() {
        let n = ["sel_1", "sel_2", "filter", "_hidden"];
        assert!(eval("1 of sel_*", &n, &[false, true, false, false]));
        assert!(!eval("all of sel_*", &n, &[false, true, false, false]));
        assert!(eval(
            "all of sel* and not 1 of filter*",
            &n,
            &[true, true, false, false]
        ));
        assert!(eval("all of them", &n, &[true, true, true, false]));
        assert!(!eval("1 of them", &n, &[false, false, false, true]));
    }

    #[test]
    fn errors_are_clear() {
        let n = names(&["a"]);
        assert!(parse("a and b", &n).unwrap_err().contains("'b'"));
        assert!(parse("(a", &n).unwrap_err().contains("')'"));
        assert!(parse("1 of x*", &n).unwrap_err().contains("x*"));
        assert!(parse("a a", &n).is_err());
        assert!(parse("a | count() > 5", &n).is_err());
    }
}
