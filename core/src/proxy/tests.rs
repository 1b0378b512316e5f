use super::*;
use alloc::string::ToString;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn proxies_parse_as_curl_reads_them() {
    let cases = [
        ("proxy.corp:3128", "http://proxy.corp:3128/", None),
        ("http://proxy.corp", "http://proxy.corp:1080/", None),
        ("HTTP://Proxy.Corp:8080/", "http://proxy.corp:8080/", None),
        ("http://[::1]:3128", "http://[::1]:3128/", None),
        ("[::1]", "http://[::1]:1080/", None),
        (
            "http://u:p@10.0.0.1:3128",
            "http://10.0.0.1:3128/",
            Some("Basic dTpw"),
        ),
        // Percent-encoded credentials; a user without a password.
        (
            "http://us%40er:p%3Ass@h:1",
            "http://h:1/",
            Some("Basic dXNAZXI6cDpzcw=="),
        ),
        ("http://user@h:1", "http://h:1/", Some("Basic dXNlcjo=")),
    ];
    for (spec, want, auth) in cases {
        let p = Proxy::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(p.url().as_str(), want, "{spec}");
        assert_eq!(p.authorization(), auth, "{spec}");
    }
    for (spec, err) in [
        (
            "socks5://h:1080",
            ProxyError::UnsupportedScheme("socks5".into()),
        ),
        (
            "https://h:443",
            ProxyError::UnsupportedScheme("https".into()),
        ),
        ("http://h:99999", ProxyError::Url(UrlError::InvalidPort)),
        ("http://", ProxyError::Url(UrlError::MissingHost)),
    ] {
        assert_eq!(Proxy::parse(spec), Err(err), "{spec}");
    }
    // Credentials never show in Debug (logs).
    let p = Proxy::parse("http://u:secret@h:1").unwrap();
    assert!(!alloc::format!("{p:?}").contains("secret"));
}

#[test]
fn base64_matches_rfc_4648_vectors() {
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        let mut out = String::new();
        base64(plain.as_bytes(), &mut out);
        assert_eq!(out, encoded);
    }
}

#[test]
fn no_proxy_matches_like_curl() {
    let list = NoProxy::parse(
        "localhost, .internal,example.com ,10.0.0.0/8, ::1, 192.168.1.7, [fd00::]/8",
    );
    let cases = [
        ("http://localhost/", true),
        ("http://LOCALHOST:8080/", true),
        ("http://a.internal/", true),
        ("http://internal/", true),
        ("http://example.com/", true),
        ("http://sub.example.com/", true),
        ("http://notexample.com/", false),
        ("http://example.com.evil/", false),
        ("http://10.200.3.4/", true),
        ("http://11.0.0.1/", false),
        ("http://[::1]:9/", true),
        ("http://[::2]/", false),
        ("http://192.168.1.7/", true),
        ("http://192.168.1.8/", false),
        ("http://[fd12::1]/", true),
        ("http://[fe00::1]/", false),
        ("http://other.test/", false),
    ];
    for (u, want) in cases {
        assert_eq!(list.matches(&url(u)), want, "{u}");
    }
    assert!(NoProxy::parse("*").matches(&url("http://anything/")));
    assert!(!NoProxy::parse("").matches(&url("http://anything/")));
    // A name entry never matches an address and the other way round.
    assert!(!NoProxy::parse("127.0.0.1").matches(&url("http://localhost/")));
    assert!(NoProxy::parse("0.0.0.0/0").matches(&url("http://1.2.3.4/")));
}

#[test]
fn the_environment_is_read_like_curl() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let http = url("http://api.test/");
    let https = url("https://api.test/");
    let via = |p: &Proxies, u: &Url| match p.route(u) {
        Route::Direct => "direct".to_string(),
        Route::Forward(p) => alloc::format!("forward {}", p.url().authority()),
        Route::Tunnel(p) => alloc::format!("tunnel {}", p.url().authority()),
    };
    // The variables set, then the route of an http and of an https URL.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[], "direct", "direct"),
        (&[("http_proxy", "h:1")], "forward h:1", "direct"),
        // Upper-case HTTP_PROXY is ignored, as curl does (httpoxy).
        (&[("HTTP_PROXY", "h:1")], "direct", "direct"),
        (&[("HTTPS_PROXY", "s:2")], "direct", "tunnel s:2"),
        (
            &[("https_proxy", "s:2"), ("HTTPS_PROXY", "S:3")],
            "direct",
            "tunnel s:2",
        ),
        (&[("ALL_PROXY", "a:4")], "forward a:4", "tunnel a:4"),
        (
            &[("all_proxy", "a:4"), ("http_proxy", "h:1")],
            "forward h:1",
            "tunnel a:4",
        ),
        (
            &[("http_proxy", ""), ("all_proxy", "a:4")],
            "forward a:4",
            "tunnel a:4",
        ),
        (
            &[("all_proxy", "a:4"), ("NO_PROXY", "api.test")],
            "direct",
            "direct",
        ),
        (
            &[
                ("all_proxy", "a:4"),
                ("no_proxy", "other"),
                ("NO_PROXY", "api.test"),
            ],
            "forward a:4",
            "tunnel a:4",
        ),
    ];
    for (vars, want_http, want_https) in cases {
        let p = Proxies::from_env(env(vars)).unwrap();
        assert_eq!(via(&p, &http), *want_http, "{vars:?}");
        assert_eq!(via(&p, &https), *want_https, "{vars:?}");
    }
    assert_eq!(
        Proxies::from_env(env(&[("https_proxy", "socks5://s:1")])),
        Err(ProxyError::UnsupportedScheme("socks5".into()))
    );
}

#[test]
fn a_proxy_for_all_still_honours_no_proxy() {
    let p = Proxies::all(Proxy::parse("p:8").unwrap()).with_no_proxy(NoProxy::parse("localhost"));
    assert_eq!(p.route(&url("http://localhost/")), Route::Direct);
    assert!(matches!(p.route(&url("http://a.test/")), Route::Forward(_)));
    assert!(matches!(p.route(&url("https://a.test/")), Route::Tunnel(_)));
    assert!(p.forward(&url("https://a.test/")).is_none());
    assert!(Proxies::none().is_empty() && !p.is_empty());
}

#[test]
fn a_tunnel_writes_connect_and_opens_on_2xx() {
    let proxy = Proxy::parse("http://u:p@proxy:3128").unwrap();
    let mut out = Vec::new();
    let mut t = Tunnel::start(&url("https://api.test/events"), &proxy, &mut out).unwrap();
    assert_eq!(
        core::str::from_utf8(&out).unwrap(),
        "CONNECT api.test:443 HTTP/1.1\r\nHost: api.test:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
    );
    let answer = b"HTTP/1.1 200 Connection established\r\n\r\n";
    // Any split gives the same answer.
    for split in 1..answer.len() {
        let mut t2 = Tunnel::start(&url("https://api.test/"), &proxy, &mut Vec::new()).unwrap();
        assert_eq!(
            t2.handle_bytes(&answer[..split]),
            Ok(TunnelStatus::Partial),
            "{split}"
        );
        assert_eq!(
            t2.handle_bytes(&answer[split..]),
            Ok(TunnelStatus::Open),
            "{split}"
        );
    }
    // The client speaks first in TLS: bytes after the answer are wrong.
    let mut t2 = Tunnel::start(&url("https://api.test/"), &proxy, &mut Vec::new()).unwrap();
    let early = t2.handle_bytes(b"HTTP/1.1 200 OK\r\n\r\n\x16\x03");
    assert_eq!(early, Err(TunnelError::UnexpectedBytes));
    assert_eq!(
        TunnelError::UnexpectedBytes.transport_error(),
        TransportError::Protocol
    );
    let mut t2 = Tunnel::start(&url("https://api.test/"), &proxy, &mut Vec::new()).unwrap();
    assert_eq!(t2.handle_bytes(b""), Err(TunnelError::Closed));
    let refused = t.handle_bytes(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
    assert_eq!(refused, Err(TunnelError::Refused { status: 407 }));
    let kind = TunnelError::Refused { status: 407 }.transport_error();
    assert_eq!(kind, TransportError::Refused);
    let mut t = Tunnel::start(&url("https://[::1]:8443/"), &proxy, &mut Vec::new()).unwrap();
    assert!(matches!(
        t.handle_bytes(b"SSH-2.0\r\n\r\n"),
        Err(TunnelError::Malformed(_))
    ));
}

#[test]
fn ipv6_targets_keep_their_brackets_in_connect() {
    let proxy = Proxy::parse("p:1").unwrap();
    let mut out = Vec::new();
    Tunnel::start(&url("https://[::1]:8443/"), &proxy, &mut out).unwrap();
    assert!(out.starts_with(b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n"));
}

mod any_input {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Settings come from the environment and the command line: any
        /// string is a proxy or a typed error, any list a `NoProxy`, never a
        /// panic; a parsed proxy is always an http URL with a port.
        #[test]
        fn settings_never_panic(spec in ".{0,40}", list in ".{0,60}", host in "[a-z0-9.\\-]{1,20}") {
            if let Ok(p) = Proxy::parse(&spec) {
                prop_assert!(p.url().as_str().starts_with("http://"));
            }
            let no = NoProxy::parse(&list);
            if let Ok(u) = Url::parse(&alloc::format!("http://{host}/")) {
                let _ = no.matches(&u);
            }
        }

        /// Whatever a proxy answers, in whatever pieces, the tunnel opens,
        /// wants more, or fails with a typed error.
        #[test]
        fn any_answer_is_handled(answer in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..200) {
            let proxy = Proxy::parse("p:1").unwrap();
            let mut t = Tunnel::start(&url("https://a.test/"), &proxy, &mut Vec::new()).unwrap();
            let cut = cut.min(answer.len());
            for piece in [&answer[..cut], &answer[cut..]] {
                if piece.is_empty() {
                    continue;
                }
                match t.handle_bytes(piece) {
                    Ok(TunnelStatus::Partial) => {}
                    Ok(TunnelStatus::Open) | Err(_) => break,
                }
            }
        }
    }
}
