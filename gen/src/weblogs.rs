//! Access logs of load balancers, CDNs, proxies and JSON-logging servers, each written as
//! its documentation gives it: the same requests in every format, so that a test can check
//! that every format gives the same findings, clients and times.

use crate::requests::{code_red_query, NIMDA};

/// A format this module writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebFormat {
    AwsAlb,
    AwsElb,
    CloudFront,
    HaProxy,
    NginxJson,
    CaddyJson,
    TraefikJson,
    EnvoyJson,
    GcpLb,
    AzureFrontDoor,
    AzureAppGateway,
    /// IIS 10 W3C with the `cs-host` field and an `X-Forwarded-For` custom field.
    Iis10,
}

/// One request to write.
#[derive(Debug, Clone)]
pub struct Request {
    /// Seconds since 1970 (UTC).
    pub secs: i64,
    /// The address that connected.
    pub client: String,
    /// The `X-Forwarded-For` header, when a proxy sent one.
    pub xff: Option<String>,
    pub method: &'static str,
    /// Path and query, as sent.
    pub target: String,
    pub status: u16,
    pub user_agent: &'static str,
    /// The Host header.
    pub host: &'static str,
    /// The address of the server behind the balancer.
    pub server: &'static str,
    /// Varies the values that differ from request to request in real logs (client port,
    /// trace and request ids), so that the logs compress as real ones do.
    pub nonce: u64,
}

impl Request {
    fn port(&self) -> u64 {
        1024 + self.nonce % 60_000
    }

    /// `len` hex digits from the nonce.
    fn id(&self, len: usize) -> String {
        let mut state = self.nonce ^ 0x9e37_79b9_7f4a_7c15;
        let mut out = String::with_capacity(len);
        while out.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.push_str(&format!("{state:016x}"));
        }
        out.truncate(len);
        out
    }
}

/// What the sample requests are, in order: the family a rule gives each (None: benign).
pub const SAMPLE_FAMILIES: [Option<&str>; 5] = [
    None,
    Some("code-red-ii"),
    Some("nimda"),
    Some("log4shell"),
    None,
];

/// The client every sample attack comes from.
pub const SAMPLE_CLIENT: &str = "192.0.2.7";

/// The time of the first sample request: 2001-08-04T10:00:00Z.
pub const SAMPLE_START: i64 = 996_919_200;

/// The sample requests: a page, Code Red II, a Nimda traversal, a Log4Shell probe as
/// SigmaHQ's web rules match it (a published request form, to a loopback address), and
/// another page. Each one second after the one before.
pub fn sample_requests() -> Vec<Request> {
    let request = |i: i64, method, target: String, status, user_agent| Request {
        secs: SAMPLE_START + i,
        client: SAMPLE_CLIENT.to_string(),
        xff: None,
        method,
        target,
        status,
        user_agent,
        host: "www.example.jp",
        server: "10.0.0.5",
        nonce: i as u64,
    };
    vec![
        request(
            0,
            "GET",
            "/index.html".into(),
            200,
            "Mozilla/5.0 (Windows NT 10.0)",
        ),
        request(
            1,
            "GET",
            format!("/default.ida?{}", code_red_query('X')),
            404,
            "-",
        ),
        request(2, "GET", format!("{}?/c+dir", NIMDA[8]), 404, "-"),
        request(
            3,
            "GET",
            "/?q=$%7Bjndi:ldap://127.0.0.1/a%7D".into(),
            404,
            "Mozilla/5.0 (Windows NT 10.0)",
        ),
        request(
            4,
            "GET",
            "/about.html".into(),
            200,
            "Mozilla/5.0 (Windows NT 10.0)",
        ),
    ]
}

impl WebFormat {
    /// Every format, in the order of the README's table.
    pub const ALL: [WebFormat; 12] = [
        WebFormat::AwsAlb,
        WebFormat::AwsElb,
        WebFormat::CloudFront,
        WebFormat::HaProxy,
        WebFormat::NginxJson,
        WebFormat::CaddyJson,
        WebFormat::TraefikJson,
        WebFormat::EnvoyJson,
        WebFormat::GcpLb,
        WebFormat::AzureFrontDoor,
        WebFormat::AzureAppGateway,
        WebFormat::Iis10,
    ];

    /// The format's name as wormtrace reports it.
    pub fn name(self) -> &'static str {
        match self {
            WebFormat::AwsAlb => "aws-alb",
            WebFormat::AwsElb => "aws-elb",
            WebFormat::CloudFront => "cloudfront",
            WebFormat::HaProxy => "haproxy",
            WebFormat::NginxJson => "nginx-json",
            WebFormat::CaddyJson => "caddy-json",
            WebFormat::TraefikJson => "traefik-json",
            WebFormat::EnvoyJson => "envoy-json",
            WebFormat::GcpLb => "gcp-lb",
            WebFormat::AzureFrontDoor => "azure-frontdoor",
            WebFormat::AzureAppGateway => "azure-appgw",
            WebFormat::Iis10 => "iis-w3c",
        }
    }

    /// Looks a format up by the name `--layout` takes (its wormtrace name, `iis10` for IIS 10).
    pub fn from_name(name: &str) -> Option<WebFormat> {
        if name == "iis10" {
            return Some(WebFormat::Iis10);
        }
        WebFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// A file name for a log of this format.
    pub fn file_name(self) -> String {
        match self {
            WebFormat::Iis10 => "iis10.log".to_string(),
            other => format!("{}.log", other.name()),
        }
    }

    /// What a file of this format starts with (directive lines), if anything.
    pub fn header(self) -> &'static str {
        match self {
            WebFormat::CloudFront => "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n",
            WebFormat::Iis10 => "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2001-08-04 10:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs-host sc-status sc-substatus sc-win32-status time-taken X-Forwarded-For\n",
            _ => "",
        }
    }

    /// One request as a line of this format (without the newline).
    pub fn line(self, r: &Request) -> String {
        match self {
            WebFormat::AwsAlb | WebFormat::AwsElb => aws_line(self, r),
            WebFormat::CloudFront => cloudfront_line(r),
            WebFormat::HaProxy => haproxy_line(r),
            WebFormat::Iis10 => iis10_line(r),
            json => json_line(json, r),
        }
    }

    /// A whole log of `requests`: the header, then a line each.
    pub fn log(self, requests: &[Request]) -> String {
        let mut out = self.header().to_string();
        for r in requests {
            out.push_str(&self.line(r));
            out.push('\n');
        }
        out
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC (no zone letter), from epoch seconds.
fn iso(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn aws_line(format: WebFormat, r: &Request) -> String {
    let time = format!("{}.000000Z", iso(r.secs));
    let request = format!("\"{} http://{}:80{} HTTP/1.0\"", r.method, r.host, r.target);
    let common = format!(
        "{}:{} {}:80 0.000 0.001 0.000 {s} {s} 0 512 {request} \"{}\" - -",
        r.client,
        r.port(),
        r.server,
        r.user_agent,
        s = r.status,
    );
    match format {
        WebFormat::AwsElb => format!("{time} my-loadbalancer {common}"),
        _ => format!(
            "http {time} app/my-loadbalancer/50dc6c495c0c9188 {common} arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-{}-{}\" \"-\" \"-\" 0 {time} \"forward\" \"-\" \"-\" \"{}:80\" \"{}\" \"-\" \"-\" TID_{}",
            r.id(8),
            r.id(24),
            r.server,
            r.status,
            r.id(32)
        ),
    }
}

/// CloudFront URL-encodes header values in its logs (a space is `%20`).
fn url_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b' ' => "%20".to_string(),
            b'%' => "%25".to_string(),
            b'"' => "%22".to_string(),
            b if !(0x20..=0x7e).contains(&b) => format!("%{b:02X}"),
            b => char::from(b).to_string(),
        })
        .collect()
}

fn cloudfront_line(r: &Request) -> String {
    let iso = iso(r.secs);
    let (date, time) = iso.split_once('T').expect("date and time");
    let (stem, query) = r.target.split_once('?').unwrap_or((&r.target, "-"));
    let fields = [
        date,
        time,
        "NRT57-P1",
        "512",
        &r.client,
        r.method,
        "d111111abcdef8.cloudfront.net",
        stem,
        &r.status.to_string(),
        "-",
        &url_encoded(r.user_agent),
        query,
        "-",
        "Error",
        &r.id(56),
        r.host,
        "http",
        "300",
        "0.001",
        r.xff.as_deref().unwrap_or("-"),
        "-",
        "-",
        "Error",
        "HTTP/1.0",
        "-",
        "-",
        &r.port().to_string(),
        "0.001",
        "Error",
        "text/html",
        "512",
        "-",
        "-",
    ];
    fields.join("\t")
}

/// HAProxy writes `"` and `#` (and bytes outside 32-126) as `#XX`.
fn haproxy_escaped(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'"' | b'#' | b'{' | b'|' | b'}' => format!("#{b:02X}"),
            b if !(0x20..=0x7e).contains(&b) => format!("#{b:02X}"),
            b => char::from(b).to_string(),
        })
        .collect()
}

fn haproxy_line(r: &Request) -> String {
    let iso = iso(r.secs);
    let (date, time) = iso.split_once('T').expect("date and time");
    let mut parts = date.split('-');
    let (year, month, day) = (
        parts.next().unwrap_or("1970"),
        parts
            .next()
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1),
        parts.next().unwrap_or("01"),
    );
    let month = MONTHS[month.saturating_sub(1).min(11)];
    format!(
        "Aug  4 {time} lb1 haproxy[14389]: {}:{} [{day}/{month}/{year}:{time}.000] http-in web/srv1 0/0/1/2/3 {} 512 - - ---- 1/1/0/0/0 0/0 \"{}\"",
        r.client,
        r.port(),
        r.status,
        haproxy_escaped(&format!("{} {} HTTP/1.0", r.method, r.target)),
    )
}

fn iis10_line(r: &Request) -> String {
    let iso = iso(r.secs);
    let (date, time) = iso.split_once('T').expect("date and time");
    let (stem, query) = r.target.split_once('?').unwrap_or((&r.target, "-"));
    format!(
        "{date} {time} {} {} {stem} {query} 80 - {} {} {} {} 0 2 15 {}",
        r.server,
        r.method,
        r.client,
        r.user_agent.replace(' ', "+"),
        r.host,
        r.status,
        r.xff.as_deref().unwrap_or("-").replace(' ', "+"),
    )
}

/// A JSON string literal.
fn js(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_line(format: WebFormat, r: &Request) -> String {
    let time = format!("{}Z", iso(r.secs));
    let xff = r
        .xff
        .as_deref()
        .map(js)
        .unwrap_or_else(|| "null".to_string());
    let status = r.status;
    let (client, target, ua, host, server) = (
        js(&r.client),
        js(&r.target),
        js(r.user_agent),
        js(r.host),
        r.server,
    );
    let url = js(&format!("http://{}{}", r.host, r.target));
    let method = r.method;
    let port = r.port();
    let insert_id = r.id(20);
    let request_id = r.id(32);
    match format {
        WebFormat::NginxJson => format!(
            r#"{{"time_iso8601":"{}+00:00","remote_addr":{client},"remote_user":"","request":{},"status":"{status}","body_bytes_sent":"512","http_referer":"","http_user_agent":{ua},"http_x_forwarded_for":{xff},"host":{host}}}"#,
            iso(r.secs),
            js(&format!("{method} {} HTTP/1.0", r.target)),
        ),
        WebFormat::CaddyJson => format!(
            r#"{{"level":"info","ts":{}.25,"logger":"http.log.access.log0","msg":"handled request","request":{{"remote_ip":{client},"remote_port":"{port}","proto":"HTTP/1.0","method":"{method}","host":{host},"uri":{target},"headers":{{"User-Agent":[{ua}]{}}}}},"bytes_read":0,"user_id":"","duration":0.000512,"size":512,"status":{status},"resp_headers":{{"Server":["Caddy"]}}}}"#,
            r.secs,
            r.xff
                .as_deref()
                .map(|x| format!(r#","X-Forwarded-For":[{}]"#, js(x)))
                .unwrap_or_default(),
        ),
        WebFormat::TraefikJson => format!(
            r#"{{"ClientAddr":"{}:{port}","ClientHost":{client},"ClientPort":"{port}","ClientUsername":"-","DownstreamContentSize":512,"DownstreamStatus":{status},"Duration":512000,"OriginStatus":{status},"RequestAddr":{host},"RequestHost":{host},"RequestMethod":"{method}","RequestPath":{target},"RequestPort":"-","RequestProtocol":"HTTP/1.0","RequestScheme":"http","RetryAttempts":0,"RouterName":"web@docker","ServiceAddr":"{server}:80","ServiceName":"web@docker","ServiceURL":"http://{server}:80","StartLocal":"{time}","StartUTC":"{time}","entryPointName":"web","level":"info","msg":"","request_User-Agent":{ua},"request_X-Forwarded-For":{xff},"time":"{time}"}}"#,
            r.client,
        ),
        WebFormat::EnvoyJson => format!(
            r#"{{"authority":{host},"bytes_received":0,"bytes_sent":512,"downstream_local_address":"10.0.0.1:80","downstream_remote_address":"{}:{port}","duration":1,"method":"{method}","path":{target},"protocol":"HTTP/1.0","request_id":"{request_id}","requested_server_name":null,"response_code":{status},"response_flags":"-","route_name":"default","start_time":"{}.000Z","upstream_cluster":"web","upstream_host":"{server}:80","user_agent":{ua},"x_forwarded_for":{xff}}}"#,
            r.client,
            iso(r.secs),
        ),
        WebFormat::GcpLb => format!(
            r#"{{"httpRequest":{{"latency":"0.001s","remoteIp":{client},"requestMethod":"{method}","requestSize":"300","requestUrl":{url},"responseSize":"512","serverIp":"{server}","status":{status},"userAgent":{ua}}},"insertId":"{insert_id}","jsonPayload":{{"@type":"type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry","statusDetails":"response_sent_by_backend"}},"logName":"projects/example/logs/requests","resource":{{"labels":{{"backend_service_name":"web","forwarding_rule_name":"web-rule","project_id":"example","url_map_name":"web-map"}},"type":"http_load_balancer"}},"severity":"INFO","timestamp":"{time}"}}"#,
        ),
        WebFormat::AzureFrontDoor => format!(
            r#"{{"time":"{}.0000000Z","resourceId":"/SUBSCRIPTIONS/0000/RESOURCEGROUPS/WEB/PROVIDERS/MICROSOFT.CDN/PROFILES/WEBFD","category":"FrontDoorAccessLog","operationName":"Microsoft.Cdn/Profiles/AccessLog/Write","properties":{{"trackingReference":"{insert_id}","httpMethod":"{method}","httpVersion":"1.0.0.0","requestUri":{},"hostName":{host},"requestBytes":"300","responseBytes":"512","userAgent":{ua},"clientIp":{},"clientPort":"{port}","socketIp":{client},"timeToFirstByte":"0.001","timeTaken":"0.001","httpStatusCode":"{status}","pop":"TYO","cacheStatus":"MISS","originName":"{server}:80"}}}}"#,
            iso(r.secs),
            js(&format!("http://{}:80{}", r.host, r.target)),
            r.xff.as_deref().map(js).unwrap_or_else(|| client.clone()),
        ),
        _ => {
            let (stem, query) = r.target.split_once('?').unwrap_or((&r.target, ""));
            format!(
                r#"{{"timeStamp":"{}+00:00","resourceId":"/SUBSCRIPTIONS/0000/RESOURCEGROUPS/WEB/PROVIDERS/MICROSOFT.NETWORK/APPLICATIONGATEWAYS/WEBGW","operationName":"ApplicationGatewayAccess","category":"ApplicationGatewayAccessLog","properties":{{"instanceId":"appgw_1","clientIP":{client},"clientPort":{port},"httpMethod":"{method}","originalRequestUriWithArgs":{target},"requestUri":{},"requestQuery":{},"userAgent":{ua},"httpStatus":{status},"httpVersion":"HTTP/1.0","receivedBytes":300,"sentBytes":512,"timeTaken":0.001,"sslEnabled":"off","host":{host},"originalHost":{host},"serverRouted":"{server}:80","serverStatus":"{status}"}}}}"#,
                iso(r.secs),
                js(stem),
                js(query),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_and_every_format_writes_every_request() {
        assert_eq!(iso(SAMPLE_START), "2001-08-04T10:00:00");
        assert_eq!(iso(0), "1970-01-01T00:00:00");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00");
        let requests = sample_requests();
        for format in WebFormat::ALL {
            let log = format.log(&requests);
            let data_lines = log.lines().filter(|l| !l.starts_with('#')).count();
            assert_eq!(data_lines, requests.len(), "{format:?}");
            assert!(WebFormat::from_name(format.name()).is_some());
        }
    }
}
