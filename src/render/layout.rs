//! Text that fits the terminal: words wrapped at a width, continuation lines indented under the
//! text they continue, no word cut (unless a single word is wider than the line).

/// The width text is wrapped at when nothing says otherwise.
pub const DEFAULT_WIDTH: usize = 80;

/// A width no line reaches: text is not wrapped.
pub const UNWRAPPED: usize = usize::MAX / 4;

/// Split `text` into lines of at most `width` characters, at spaces. Linear in the length of
/// the text: each character is looked at a bounded number of times, however long a word is.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut lines = Vec::new();
    let mut line = String::new();
    // Characters in `line`.
    let mut used = 0;
    for word in text.split_whitespace() {
        let mut word = word;
        let mut chars = word.chars().count();
        // Only a word wider than a whole line is cut, a line's width at a time.
        while chars > width {
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            let cut = word
                .char_indices()
                .nth(width)
                .map_or(word.len(), |(i, _)| i);
            lines.push(word[..cut].to_string());
            word = &word[cut..];
            chars -= width;
        }
        if used > 0 && used + 1 + chars > width {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += chars;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `first` (a prefix already laid out, such as `  kvm   guest  `) followed by `text` wrapped to
/// `width`, continuation lines indented to where the text starts.
pub fn hanging(first: &str, text: &str, width: usize) -> String {
    let indent = first.chars().count();
    let room = width.saturating_sub(indent).max(20);
    let mut out = String::new();
    for (i, line) in wrap(text, room).iter().enumerate() {
        if i == 0 {
            out.push_str(first);
        } else {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(line);
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_at_spaces_and_hangs() {
        assert_eq!(wrap("a bb ccc dddd eeeee", 10), ["a bb ccc", "dddd eeeee"]);
        assert_eq!(
            hanging("  id  ", "one two three four five six", 26),
            "  id  one two three four\n      five six"
        );
        assert_eq!(wrap("", 10), [""]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]
        /// No line is wider than asked, no word that fits is cut, and nothing is lost.
        #[test]
        fn lines_fit_and_keep_every_word(words in proptest::collection::vec("[a-z]{1,15}", 0..40), width in 15usize..100) {
            let text = words.join(" ");
            let lines = wrap(&text, width);
            for l in &lines {
                prop_assert!(l.chars().count() <= width, "{l:?}");
            }
            let back: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
            prop_assert_eq!(back, words.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
