//! Local emulators of the services tollbooth calls, built from their documented protocols
//! (`reference/`), each a real HTTP server on a loopback port.
#![allow(dead_code)] // each test file uses its own part of these emulators

pub mod discord;
pub mod payflow;
pub mod paypal;
pub mod paypal_classic;
pub mod stripe;
pub mod webex;
pub mod zoom;

/// A callback an emulated gateway sent (or held back): its headers and exact body, so that a
/// test can deliver it again, twice, or racing the payer's browser.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    /// A form-encoded callback (silent post, IPN).
    pub fn form(pairs: &[(String, String)]) -> Delivery {
        let body =
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        Delivery {
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: body.into_bytes(),
        }
    }

    /// The same delivery with its body changed after it was signed.
    pub fn replaced(mut self, from: &str, to: &str) -> Delivery {
        let body = String::from_utf8(self.body).expect("a text body");
        assert!(body.contains(from), "`{from}` is not in {body}");
        self.body = body.replacen(from, to, 1).into_bytes();
        self
    }

    /// Posts it to `url`; the answer's status, or 0 when nothing answered.
    pub async fn send(&self, url: &str) -> u16 {
        let mut request = reqwest::Client::new().post(url).body(self.body.clone());
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        request.send().await.map_or(0, |r| r.status().as_u16())
    }
}
