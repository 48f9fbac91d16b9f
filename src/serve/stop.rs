//! Stop strings over streamed text: text goes out as soon as it cannot be the start of a stop
//! string; a stop string ends the generation and is not sent.

pub struct StopScan {
    stops: Vec<String>,
    /// Text that may be the start of a stop string, held back.
    held: String,
}

impl StopScan {
    pub fn new(stops: Vec<String>) -> StopScan {
        let stops = stops.into_iter().filter(|s| !s.is_empty()).collect();
        StopScan {
            stops,
            held: String::new(),
        }
    }

    /// Adds generated text; returns what may be sent now and whether a stop string was hit
    /// (then the text before it is returned and nothing more should be sent).
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        self.held.push_str(piece);
        if let Some(at) = self.first_stop() {
            self.held.truncate(at);
            return (std::mem::take(&mut self.held), true);
        }
        let keep = self.partial_suffix();
        let out = self.held[..self.held.len() - keep].to_string();
        self.held.drain(..self.held.len() - keep);
        (out, false)
    }

    /// The held text and `rest` at the end of the generation, cut at a stop string if one
    /// completes.
    pub fn flush(&mut self, rest: &str) -> String {
        self.held.push_str(rest);
        if let Some(at) = self.first_stop() {
            self.held.truncate(at);
        }
        std::mem::take(&mut self.held)
    }

    fn first_stop(&self) -> Option<usize> {
        self.stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
    }

    /// Bytes at the end of `held` that begin some stop string (a char boundary).
    fn partial_suffix(&self) -> usize {
        let h = &self.held;
        (1..=h.len())
            .rev()
            .filter(|&k| h.is_char_boundary(h.len() - k))
            .find(|&k| self.stops.iter().any(|s| s.starts_with(&h[h.len() - k..])))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::StopScan;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut s = StopScan::new(stops.iter().map(|s| s.to_string()).collect());
        let mut out = String::new();
        for p in pieces {
            let (o, hit) = s.push(p);
            out.push_str(&o);
            if hit {
                return (out, true);
            }
        }
        out.push_str(&s.flush(""));
        (out, false)
    }

    #[test]
    fn stop_strings_split_across_pieces_are_found_and_not_sent() {
        assert_eq!(
            run(&["\n\n"], &["12", "3\n", "\nmore"]),
            ("123".into(), true)
        );
        assert_eq!(run(&["END"], &["abcE", "N", "Dx"]), ("abc".into(), true));
        // A partial match that does not complete is sent in the end.
        assert_eq!(run(&["END"], &["abcE", "N"]), ("abcEN".into(), false));
        // The earliest of several stops wins; multi-byte text stays whole.
        assert_eq!(run(&["é!", "b"], &["aé", "!b"]), ("a".into(), true));
        assert_eq!(run(&[], &["x", "y"]), ("xy".into(), false));
    }

    #[test]
    fn text_goes_out_as_soon_as_it_cannot_start_a_stop() {
        let mut s = StopScan::new(vec!["STOP".into()]);
        assert_eq!(s.push("abc"), ("abc".into(), false));
        assert_eq!(s.push("xST"), ("x".into(), false));
        assert_eq!(s.push("OX"), ("STOX".into(), false));
    }
}
