//! Parses untrusted header values as a signed read request and verifies it.
#![no_main]

use civitas_core::read::SignedRead;
use civitas_core::time::TimestampMs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (account, time, signatures) = (parts.next(), parts.next(), parts.next());
    if let Ok(read) = SignedRead::from_headers(account, time, signatures) {
        let _ = read.verify("civitas", "/v1/accounts/x/pending", TimestampMs(read.time.0));
    }
});
