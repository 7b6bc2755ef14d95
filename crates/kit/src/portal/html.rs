//! HTML building blocks: escaping, the page layout every page shares, and small formatters.
//!
//! Everything that comes from the ledger or the request goes through [`esc`] before it reaches
//! a page; the pages carry no inline script or style, so the content security policy can forbid
//! both.

use super::Section;
use civitas_core::time::TimestampMs;
use std::fmt::Write as _;

/// Text made safe for HTML element content and double-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A path segment made safe for a URL (percent-encodes everything but unreserved characters).
pub fn url_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// An amount as the API writes it (`118000.00 EUR`) with its thousands grouped for reading
/// (`118,000.00 EUR`). Anything else is returned unchanged.
pub fn grouped(amount: &str) -> String {
    let (number, rest) = amount.split_once(' ').unwrap_or((amount, ""));
    let (whole, fraction) = number
        .split_once('.')
        .map_or((number, None), |(w, f)| (w, Some(f)));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return amount.to_string();
    }
    let mut out = String::with_capacity(amount.len() + whole.len() / 3);
    for (n, c) in whole.chars().enumerate() {
        if n > 0 && (whole.len() - n) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    if !rest.is_empty() {
        out.push(' ');
        out.push_str(rest);
    }
    out
}

/// A page: its title, the section it belongs to (for the navigation), its body, and the
/// scripts it needs (file names under `/assets/`).
pub struct Page<'a> {
    /// The page's own title (the site name is appended).
    pub title: &'a str,
    /// Path of the section it belongs to.
    pub section: &'a str,
    /// The `<main>` content, already escaped.
    pub body: String,
    /// Scripts to load, such as `explorer.js`.
    pub scripts: &'a [&'a str],
}

impl Page<'_> {
    /// The whole document, for chain `chain_id`, with `sections` in its navigation.
    pub fn render(&self, chain_id: &str, sections: &[Section]) -> String {
        let mut nav = String::new();
        for Section { path, label, .. } in sections {
            let current = if *path == self.section {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(nav, "<li><a href=\"{path}\"{current}>{label}</a></li>");
        }
        let mut scripts = String::from("<script src=\"/assets/portal.js\" defer></script>");
        for script in self.scripts {
            let _ = write!(
                scripts,
                "<script src=\"/assets/{}\" defer></script>",
                esc(script)
            );
        }
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title} · Civitas</title>\n\
             <link rel=\"stylesheet\" href=\"/assets/portal.css\">\n{scripts}\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">Skip to content</a>\n\
             <header class=\"site\"><div class=\"wrap\">\
             <a class=\"brand\" href=\"/\">Civitas <span class=\"chain\">{chain}</span></a>\
             <nav aria-label=\"Main\"><ul>{nav}</ul></nav></div></header>\n\
             <main id=\"main\" tabindex=\"-1\"><div class=\"wrap\">\n{body}\n</div></main>\n\
             <footer class=\"site\"><div class=\"wrap\"><p>Every figure here is read from finalized \
             blocks and comes with a proof bundle you can check offline with \
             <code>civitas verify</code>. <a href=\"/v1/openapi.json\">API</a> · \
             <a href=\"/v1/genesis\">Genesis document</a></p></div></footer>\n</body>\n</html>\n",
            title = esc(self.title),
            chain = esc(chain_id),
            body = self.body,
        )
    }
}

/// A shortened hex id for display, with the whole id in a `title` and for screen readers.
pub fn short_hex(hex: &str) -> String {
    if hex.len() <= 16 {
        return format!("<code>{}</code>", esc(hex));
    }
    format!(
        "<code title=\"{full}\"><span class=\"visually-hidden\">{full}</span><span aria-hidden=\"true\">{}…{}</span></code>",
        esc(&hex[..8]),
        esc(&hex[hex.len() - 6..]),
        full = esc(hex),
    )
}

/// A ledger time as `2026-11-22 06:19 UTC` inside a `<time>` element.
pub fn time(ms: u64) -> String {
    let t = TimestampMs(ms);
    let (year, month, day, hour, minute, _) = t.civil();
    format!(
        "<time datetime=\"{}\">{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC</time>",
        t.rfc3339()
    )
}

/// A link to a transaction's page, showing its shortened hash.
pub fn tx_link(hash: &str) -> String {
    format!(
        "<a href=\"/explorer/transactions/{}\">{}</a>",
        esc(hash),
        short_hex(hash)
    )
}

/// A link to a block's page.
pub fn block_link(height: u64) -> String {
    format!("<a href=\"/explorer/blocks/{height}\">{height}</a>")
}

/// A labelled list of facts (`<dl>`), values already escaped.
pub fn facts(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"facts\">");
    for (label, value) in rows {
        let _ = write!(out, "<dt>{}</dt><dd>{value}</dd>", esc(label));
    }
    out.push_str("</dl>");
    out
}

/// A table with a caption, header cells and rows of already escaped cells. The table scrolls
/// sideways inside a focusable region on narrow screens.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!(
        "<div class=\"scroll\" role=\"region\" aria-label=\"{c}\" tabindex=\"0\"><table><caption>{c}</caption><thead><tr>",
        c = esc(caption)
    );
    for header in headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(header));
    }
    out.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\">None yet.</td></tr>",
            headers.len().max(1)
        );
    }
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A link to a proof bundle download.
pub fn proof_link(url: &str, what: &str) -> String {
    format!(
        "<a class=\"proof\" href=\"{}\" download>Proof bundle<span class=\"visually-hidden\"> for {}</span></a>",
        esc(url),
        esc(what)
    )
}

/// A JSON string, escaped (empty if the value is not a string).
pub fn text(value: &serde_json::Value) -> String {
    esc(value.as_str().unwrap_or(""))
}

/// An amount's `text` (as the money views write it), grouped by thousands and escaped.
pub fn money(value: &serde_json::Value) -> String {
    esc(&grouped(value["text"].as_str().unwrap_or("")))
}

/// A notice box: `kind` is `ok`, `warn` or `error`.
pub fn notice(kind: &str, html: &str) -> String {
    format!("<div class=\"notice {kind}\">{html}</div>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(grouped("118000.00 EUR"), "118,000.00 EUR");
        assert_eq!(grouped("1000000 JPY"), "1,000,000 JPY");
        assert_eq!(grouped("999.99 EUR"), "999.99 EUR");
        assert_eq!(grouped("0.00 EUR"), "0.00 EUR");
        assert_eq!(grouped("not money"), "not money");
    }

    #[test]
    fn url_segments_keep_only_unreserved_characters() {
        assert_eq!(url_segment("health care/2026"), "health%20care%2F2026");
        assert_eq!(url_segment("a-b_c.d~"), "a-b_c.d~");
    }

    #[test]
    fn short_hex_keeps_the_whole_id_for_screen_readers() {
        let id = "ab".repeat(32);
        let html = short_hex(&id);
        assert!(html.contains(&id));
        assert!(html.contains("abababab…ababab"));
    }

    #[test]
    fn pages_carry_skip_link_landmarks_and_current_section() {
        let page = Page {
            title: "Spending <2026>",
            section: "/spending",
            body: "<h1>x</h1>".into(),
            scripts: &["explorer.js"],
        }
        .render(
            "civitas-devnet",
            &[
                Section::new("/", "Home"),
                Section::new("/spending", "Spending"),
            ],
        );
        assert!(page.contains("<html lang=\"en\">"));
        assert!(page.contains("href=\"#main\""));
        assert!(page.contains("<main id=\"main\""));
        assert!(page.contains("<a href=\"/spending\" aria-current=\"page\">"));
        assert!(page.contains("Spending &lt;2026&gt;"));
        assert!(page.contains("/assets/explorer.js"));
    }
}
