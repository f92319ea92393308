//! Makes text that came from a server safe to put in our messages: what a terminal would
//! interpret is removed, so an API error or a project name cannot move the cursor, clear the
//! screen, set the window title, or reorder what the user reads.
//!
//! Removed: ANSI escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, and two-byte
//! `ESC x`), the remaining C0 and C1 control characters and DEL, and the Unicode bidi controls
//! (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069). Tabs and line breaks become a space,
//! so a message stays one line. Never changes anything else.

/// `text` with every terminal control removed (see the module header).
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI and OSC introducers: their parameters go too.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_osc(&mut chars),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_osc(chars),
        // ESC plus one character (e.g. `ESC c`, a full reset), or a lone ESC at the end.
        _ => {}
    }
}

/// Parameters and intermediates up to the final byte (0x40–0x7E), which goes too.
fn skip_csi(chars: &mut Chars) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// Up to BEL or ST (`ESC \` or U+009C).
fn skip_osc(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_removed() {
        assert_eq!(terminal_safe("plain text: ok"), "plain text: ok");
        assert_eq!(terminal_safe("\u{1b}[2J\u{1b}[1;31mred\u{1b}[0m"), "red");
        assert_eq!(
            terminal_safe("\u{1b}]0;pwned title\u{7}after"),
            "after",
            "OSC ended by BEL"
        );
        assert_eq!(terminal_safe("\u{1b}]8;;http://x\u{1b}\\link"), "link");
        assert_eq!(terminal_safe("a\u{1b}cb"), "ab", "ESC c (reset)");
        assert_eq!(terminal_safe("a\u{9b}31mb"), "ab", "C1 CSI");
        assert_eq!(terminal_safe("a\u{0}\u{7}\u{8}\u{7f}\u{85}b"), "ab");
        assert_eq!(terminal_safe("line1\nline2\r\tx"), "line1 line2  x");
        assert_eq!(terminal_safe("trailing\u{1b}"), "trailing");
    }

    #[test]
    fn bidi_overrides_are_removed_and_other_unicode_kept() {
        assert_eq!(
            terminal_safe("Test \u{202e}tcejorP\u{202c} \u{2066}x\u{2069}"),
            "Test tcejorP x"
        );
        assert_eq!(
            terminal_safe("Projekt Müller – 東京"),
            "Projekt Müller – 東京"
        );
    }
}
