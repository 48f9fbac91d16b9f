//! `general.*` metadata computed the way gguf-py computes it: the title from the folder name and
//! the size label.

/// gguf-py `Metadata.id_to_title`: words split on '-' and spaces, all-lowercase words
/// title-cased unless they are version numbers (`v3`, `2.5`).
pub fn id_to_title(id: &str) -> String {
    fn is_version(w: &str) -> bool {
        if w.starts_with(|c: char| c.is_ascii_digit()) {
            return true;
        }
        let Some(rest) = w.strip_prefix('v') else {
            return false;
        };
        !rest.is_empty()
            && rest
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    }
    fn python_title(w: &str) -> String {
        let mut out = String::new();
        let mut prev_cased = false;
        for c in w.chars() {
            if prev_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            prev_cased = c.is_alphabetic();
        }
        out
    }
    id.trim()
        .replace('-', " ")
        .split_whitespace()
        .map(|w| {
            let lower = w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_uppercase);
            if lower && !is_version(w) {
                python_title(w)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// gguf-py `size_label`: `<experts>x<params per expert + shared>` for MoE models, from the GGUF
/// shapes (ne order).
pub fn size_label(tensors: &[(String, Vec<u64>)]) -> String {
    let (mut total, mut shared, mut expert, mut e_sum, mut n_e) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for (name, ne) in tensors {
        let size: u64 = ne.iter().product();
        if name.contains("_exps.") && ne.len() >= 3 {
            expert += size / ne[2];
            e_sum += ne[2];
            n_e += 1;
        } else {
            shared += size;
        }
        total += size;
    }
    let rounded = |c: u64| {
        let c = c as f64;
        let (s, suffix) = if c > 1e12 {
            (c * 1e-12, "T")
        } else if c > 1e9 {
            (c * 1e-9, "B")
        } else if c > 1e6 {
            (c * 1e-6, "M")
        } else {
            (c * 1e-3, "K")
        };
        // Python round() is to nearest even; only the digit count matters here.
        let digits = format!("{}", s.round_ties_even() as u64)
            .trim_start_matches('0')
            .len();
        let fix = 2usize.saturating_sub(digits);
        format!("{s:.fix$}{suffix}")
    };
    match e_sum.checked_div(n_e) {
        Some(n) => format!("{n}x{}", rounded(shared + expert)),
        None => rounded(total),
    }
}
