use super::*;
use crate::model::ClientPolicy;
use crate::record::FieldMap;
use chrono::FixedOffset;

fn ctx(map: &FieldMap) -> ParseContext<'_> {
    static CLIENT: std::sync::OnceLock<ClientPolicy> = std::sync::OnceLock::new();
    ParseContext {
        map,
        local_offset: FixedOffset::east_opt(9 * 3600).unwrap(),
        client: CLIENT.get_or_init(ClientPolicy::default),
    }
}

/// The line read as the layout `choose_layout` picks for it: its format and its fields.
fn read(line: &str, map: &FieldMap) -> (LogFormat, Vec<(Field, String)>, Option<String>) {
    let format = choose_layout(line.as_bytes(), map.json_layouts()).expect("a layout fits");
    let layout = map.json_layout(format).unwrap();
    let record = layout.parse(line.as_bytes(), &ctx(map));
    let fields = crate::record::ALL_FIELDS
        .iter()
        .filter_map(|&f| {
            record
                .get(f)
                .map(|v| (f, String::from_utf8_lossy(v).into_owned()))
        })
        .collect();
    (format, fields, record.time.map(|t| t.rfc3339()))
}

fn has(fields: &[(Field, String)], field: Field, value: &str) -> bool {
    fields.iter().any(|(f, v)| *f == field && v == value)
}

/// A line, the layout it is, fields it must give, and its time.
type Case<'c> = (&'c str, LogFormat, &'c [(Field, &'c str)], &'c str);

#[test]
fn each_builtin_layout_is_recognised_and_mapped() {
    let map = FieldMap::builtin();
    let cases: [Case; 7] = [
        (
            r#"{"time_iso8601":"2001-08-04T13:45:01+09:00","remote_addr":"192.0.2.7","request":"GET /default.ida?NNNN=a HTTP/1.0","status":"404","body_bytes_sent":"0","http_user_agent":"-","http_x_forwarded_for":"203.0.113.9","host":"www.example.jp"}"#,
            LogFormat::NginxJson,
            &[
                (Field::ClientIp, "192.0.2.7"),
                (Field::UriStem, "/default.ida"),
                (Field::UriQuery, "NNNN=a"),
                (Field::Version, "HTTP/1.0"),
                (Field::Status, "404"),
                (Field::ForwardedFor, "203.0.113.9"),
                (Field::Host, "www.example.jp"),
            ],
            "2001-08-04T13:45:01+09:00",
        ),
        (
            r#"{"level":"info","ts":1646861401.5241024,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"192.0.2.7","remote_port":"41342","proto":"HTTP/1.1","method":"GET","host":"www.example.jp","uri":"/scripts/root.exe?/c+dir","headers":{"User-Agent":["curl/7.81.0"],"X-Forwarded-For":["203.0.113.9"]}},"status":404,"size":0}"#,
            LogFormat::CaddyJson,
            &[
                (Field::ClientIp, "192.0.2.7"),
                (Field::Method, "GET"),
                (Field::UriStem, "/scripts/root.exe"),
                (Field::UriQuery, "/c+dir"),
                (Field::UserAgent, "curl/7.81.0"),
                (Field::ForwardedFor, "203.0.113.9"),
                (Field::Status, "404"),
            ],
            "2022-03-09T21:30:01Z",
        ),
        (
            r#"{"ClientAddr":"192.0.2.7:51234","ClientHost":"192.0.2.7","DownstreamStatus":404,"RequestHost":"www.example.jp","RequestMethod":"GET","RequestPath":"/default.ida?XXXX","RequestProtocol":"HTTP/1.1","ServiceAddr":"10.0.0.5:80","StartUTC":"2024-05-01T10:00:00.123456789Z","request_User-Agent":"Mozilla/4.0","request_X-Forwarded-For":"203.0.113.9","level":"info","msg":"","time":"2024-05-01T10:00:00Z"}"#,
            LogFormat::TraefikJson,
            &[
                (Field::ClientIp, "192.0.2.7"),
                (Field::ServerIp, "10.0.0.5"),
                (Field::UriStem, "/default.ida"),
                (Field::UriQuery, "XXXX"),
                (Field::Status, "404"),
                (Field::UserAgent, "Mozilla/4.0"),
                (Field::ForwardedFor, "203.0.113.9"),
            ],
            "2024-05-01T10:00:00Z",
        ),
        (
            r#"{"start_time":"2024-05-01T10:00:00.000Z","method":"GET","path":"/scripts/..%c1%1c../winnt/system32/cmd.exe?/c+dir","protocol":"HTTP/1.1","response_code":404,"bytes_sent":0,"user_agent":null,"x_forwarded_for":"203.0.113.9","authority":"www.example.jp","upstream_host":"10.0.0.5:8080","downstream_remote_address":"192.0.2.7:51234"}"#,
            LogFormat::EnvoyJson,
            &[
                (Field::ClientIp, "192.0.2.7"),
                (Field::ServerIp, "10.0.0.5"),
                (Field::UriStem, "/scripts/..%c1%1c../winnt/system32/cmd.exe"),
                (Field::Host, "www.example.jp"),
                (Field::ForwardedFor, "203.0.113.9"),
            ],
            "2024-05-01T10:00:00Z",
        ),
        (
            r#"{"httpRequest":{"requestMethod":"GET","requestUrl":"http://www.example.jp/default.ida?NNNN","status":404,"userAgent":"x","remoteIp":"192.0.2.7","serverIp":"10.0.0.5","protocol":"HTTP/1.1"},"resource":{"type":"http_load_balancer","labels":{"forwarding_rule_name":"web-rule"}},"timestamp":"2024-05-01T10:00:00.5Z"}"#,
            LogFormat::GcpLb,
            &[
                (Field::ClientIp, "192.0.2.7"),
                (Field::ServerIp, "10.0.0.5"),
                (Field::Host, "www.example.jp"),
                (Field::UriStem, "/default.ida"),
                (Field::UriQuery, "NNNN"),
                (Field::SiteName, "web-rule"),
            ],
            "2024-05-01T10:00:00Z",
        ),
        (
            r#"{"time":"2024-05-01T10:00:00.1234567Z","category":"FrontDoorAccessLog","properties":{"httpMethod":"GET","httpVersion":"1.1.0.0","requestUri":"https://www.example.jp:443/default.ida?NNNN","hostName":"www.example.jp","clientIp":"203.0.113.9","socketIp":"192.0.2.7","httpStatusCode":"404","userAgent":"x","originName":"origin.example.jp"}}"#,
            LogFormat::AzureFrontDoor,
            &[
                (Field::ClientIp, "192.0.2.7"),
                (Field::ForwardedFor, "203.0.113.9"),
                (Field::UriStem, "/default.ida"),
                (Field::Status, "404"),
                (Field::ComputerName, "origin.example.jp"),
            ],
            "2024-05-01T10:00:00Z",
        ),
        (
            r#"{"timeStamp":"2024-05-01T10:00:00+00:00","category":"ApplicationGatewayAccessLog","properties":{"instanceId":"appgw_1","clientIP":"192.0.2.7","clientPort":45057,"httpMethod":"GET","originalRequestUriWithArgs":"/default.ida?NNNN","requestUri":"/rewritten","requestQuery":"","httpStatus":404,"httpVersion":"HTTP/1.1","host":"www.example.jp","serverRouted":"10.0.0.5:443"}}"#,
            LogFormat::AzureAppGateway,
            &[
                (Field::ClientIp, "192.0.2.7"),
                (Field::ServerIp, "10.0.0.5"),
                (Field::UriStem, "/default.ida"),
                (Field::UriQuery, "NNNN"),
                (Field::Status, "404"),
                (Field::Host, "www.example.jp"),
            ],
            "2024-05-01T10:00:00Z",
        ),
    ];
    for (line, want_format, want_fields, want_time) in cases {
        let (format, fields, time) = read(line, map);
        assert_eq!(format, want_format, "{line}");
        for (field, value) in want_fields {
            assert!(
                has(&fields, *field, value),
                "{format:?} {field:?}={value} in {fields:?}"
            );
        }
        assert_eq!(time.as_deref(), Some(want_time), "{format:?}");
    }
}

#[test]
fn escaped_values_are_decoded_and_the_line_too() {
    let map = FieldMap::builtin();
    let line = br#"{"remote_addr":"192.0.2.7","request":"GET \/scripts\/..\xc1\x1c..\/winnt\/system32\/cmd.exe?\/c+dir HTTP\/1.0","status":"404"}"#;
    let record = map
        .json_layout(LogFormat::NginxJson)
        .unwrap()
        .parse(line, &ctx(map));
    assert_eq!(
        record.get(Field::UriStem),
        Some(&b"/scripts/..\xc1\x1c../winnt/system32/cmd.exe"[..])
    );
    assert_eq!(record.get(Field::Version), Some(&b"HTTP/1.0"[..]));
    let decoded = record.decoded_line().expect("the line had escapes");
    assert!(memchr::memmem::find(decoded, b"/winnt/system32/cmd.exe").is_some());
}

#[test]
fn a_user_layout_wins_and_bad_layouts_are_refused() {
    let user = "detect: [evt.kind]\ntimestamp: evt.at\nfields:\n  c-ip: peer.addr\n  request-url: evt.url\n  sc-status: evt.code\n";
    let map = FieldMap::builtin().with_user_json(user).unwrap();
    let line = r#"{"evt":{"kind":"http","at":1646861401000,"url":"https://shop.example.jp/default.ida?NNNN","code":404},"peer":{"addr":"192.0.2.7"},"remote_addr":"198.51.100.1"}"#;
    let (format, fields, time) = read(line, &map);
    assert_eq!(format, LogFormat::Json, "the user's layout over nginx-json");
    assert!(has(&fields, Field::ClientIp, "192.0.2.7"));
    assert!(has(&fields, Field::Host, "shop.example.jp"));
    assert!(has(&fields, Field::UriQuery, "NNNN"));
    assert_eq!(time.as_deref(), Some("2022-03-09T21:30:01Z"));
    for bad in [
        "fields:\n  no-such-field: a\n",
        "detect: [a]\n",
        "fields:\n  c-ip: {nested: map}\n",
        "- a list\n",
    ] {
        assert!(FieldMap::builtin().with_user_json(bad).is_err(), "{bad}");
    }
    assert_eq!(
        choose_layout(b"{\"unknown\":1}\n", FieldMap::builtin().json_layouts()),
        None
    );
}

#[test]
fn a_line_of_many_elements_or_keys_is_read_in_linear_time() {
    // 200,000 elements on one header path, and a first line of 20,000 distinct keys: both
    // once took time growing with the square of their number.
    let map = FieldMap::builtin();
    let elements = vec!["\"a\""; 200_000].join(",");
    let line = format!(
        r#"{{"request":{{"uri":"/x","method":"GET","proto":"HTTP/1.1","headers":{{"User-Agent":[{elements}]}}}},"status":200}}"#
    );
    let record = map
        .json_layout(LogFormat::CaddyJson)
        .unwrap()
        .parse(line.as_bytes(), &ctx(map));
    assert_eq!(
        record.get(Field::UserAgent).map(<[u8]>::len),
        Some(200_000 * 3 - 2)
    );
    let keys: Vec<String> = (0..20_000).map(|i| format!("\"k{i}\":1")).collect();
    let wide = format!("{{{}}}", keys.join(","));
    assert_eq!(paths_of(wide.as_bytes()).map(|p| p.len()), Some(20_000));
}
