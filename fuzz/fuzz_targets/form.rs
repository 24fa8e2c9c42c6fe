//! Form and query parsing (`params.rs`, behind every endpoint): never panics, keeps its
//! size bounds, refuses repeated names (TE-03, AZ-06), and agrees with the `url` crate's
//! lenient parser on every input it accepts.
#![no_main]

use grantflow::FormLimits;
use grantflow::fuzzing::{is_form_content_type, parse_form, parse_pairs_owned};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, &[u8])| {
    let (selector, data) = input;
    let limits = if selector & 1 == 0 {
        FormLimits::default()
    } else {
        FormLimits {
            max_body_bytes: 64,
            max_parameters: 4,
            max_value_bytes: 8,
        }
    };
    let pairs = parse_pairs_owned(data, &limits);
    let form = parse_form(data, &limits);
    if data.len() > limits.max_body_bytes {
        assert_eq!(form, Err("request too large".to_owned()));
    }
    match (&pairs, &form) {
        (Ok(pairs), Ok(form)) => {
            assert!(pairs.len() <= limits.max_parameters);
            // The form is the pairs without empty values, and no name repeats.
            let expected: Vec<_> = pairs
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned()
                .collect();
            assert_eq!(&expected, form);
            for (i, (name, _)) in pairs.iter().enumerate() {
                assert!(!name.is_empty());
                assert!(
                    !pairs[..i].iter().any(|(n, _)| n == name),
                    "repeat accepted"
                );
            }
            // Differential: the url crate decodes an accepted form the same way.
            let theirs: Vec<(String, String)> = url::form_urlencoded::parse(data)
                .filter(|(n, _)| !n.is_empty())
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(&theirs, pairs);
        }
        (Ok(pairs), Err(description)) => {
            // Only a repeated name makes the form refuse what the pair parser took.
            assert!(
                description.starts_with("repeated parameter"),
                "{description}"
            );
            assert!(
                pairs
                    .iter()
                    .enumerate()
                    .any(|(i, (n, _))| pairs[..i].iter().any(|(m, _)| m == n))
            );
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (Err(_), Ok(_)) => panic!("the form accepted what the pair parser refused"),
    }
    if let Err(description) = &form {
        assert!(grantflow_fuzz::is_er02(description), "{description:?}");
        assert!(description.len() <= 256);
    }
    let text = String::from_utf8_lossy(data);
    let accepted = is_form_content_type(Some(&text));
    if accepted {
        let media = text.split(';').next().unwrap_or("").trim();
        assert!(media.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    }
});
