//! User-facing text in English and Japanese, from Fluent message catalogs (`locales/`).

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// Languages the catalogs cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    /// `ja` or `en`.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// From a locale value such as `LC_ALL`/`LANG` (`ja_JP.UTF-8` gives Japanese).
    pub fn from_locale(locale: Option<&str>) -> Lang {
        match locale {
            Some(l) if l.to_ascii_lowercase().starts_with("ja") => Lang::Ja,
            _ => Lang::En,
        }
    }
}

/// A loaded catalog.
pub struct Messages {
    bundle: FluentBundle<FluentResource>,
}

impl Messages {
    /// Loads the catalog for `lang` (embedded at build time).
    pub fn new(lang: Lang) -> Messages {
        let (id, text) = match lang {
            Lang::En => ("en", include_str!("../../locales/en.ftl")),
            Lang::Ja => ("ja", include_str!("../../locales/ja.ftl")),
        };
        let langid: LanguageIdentifier = id.parse().expect("valid language id");
        let mut bundle = FluentBundle::new(vec![langid]);
        // Isolation marks would show up as stray characters in terminals and files.
        bundle.set_use_isolating(false);
        bundle.set_formatter(Some(|value, _| match value {
            FluentValue::Number(n) => whole_number(n.value).map(group_digits),
            _ => None,
        }));
        let resource = FluentResource::try_new(text.to_string()).expect("embedded catalog parses");
        bundle
            .add_resource(resource)
            .expect("no duplicate messages");
        Messages { bundle }
    }

    /// The message `key` with arguments; the key itself when missing (never panics).
    pub fn get(&self, key: &str, args: &[(&str, FluentValue)]) -> String {
        let Some(pattern) = self.bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_string();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned()
    }

    /// Why an input was not read, in this catalog's language (the English reason when the
    /// problem has no catalog entry). Numeric arguments take plurals and separators.
    pub fn problem(&self, p: &crate::model::Problem) -> String {
        let Some((key, args)) = p.kind.message() else {
            return p.reason.clone();
        };
        let args: Vec<(&str, FluentValue)> = args
            .into_iter()
            .map(|(k, v)| match v.parse::<u64>() {
                Ok(n) => (k, FluentValue::from(n)),
                Err(_) => (k, FluentValue::from(v.to_string())),
            })
            .collect();
        self.get(key, &args)
    }

    /// The message `key` without arguments.
    pub fn text(&self, key: &str) -> String {
        self.get(key, &[])
    }
}

/// A whole number that fits in `u64`, else `None`.
fn whole_number(value: f64) -> Option<u64> {
    (value >= 0.0 && value.fract() == 0.0 && value < u64::MAX as f64).then_some(value as u64)
}

/// A count with thousands separators: `1234567` gives `1,234,567` (both catalogs' style).
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_have_the_same_keys() {
        let keys = |text: &str| -> Vec<String> {
            let mut k: Vec<String> = text
                .lines()
                .filter_map(|l| l.split_once(" = "))
                .map(|(k, _)| k.to_string())
                .collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(include_str!("../../locales/en.ftl")),
            keys(include_str!("../../locales/ja.ftl"))
        );
    }

    #[test]
    fn arguments_and_language_choice() {
        let ja = Messages::new(Lang::Ja);
        assert!(ja
            .get("headline-infected", &[("count", 3.into())])
            .contains("3 台"));
        let en = Messages::new(Lang::En);
        assert!(en
            .get("headline-clean", &[("inputs", 2.into())])
            .contains("2 input"));
        assert_eq!(en.text("no-such-key"), "no-such-key");
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1234567), "1,234,567");
        assert_eq!(Lang::from_locale(Some("ja_JP.UTF-8")), Lang::Ja);
        assert_eq!(Lang::from_locale(Some("C")), Lang::En);
        assert_eq!(Lang::from_locale(None), Lang::En);
    }
}
