//! Text from evidence bytes, shared by every reader: UTF-16LE (regedit exports, PowerShell
//! `>` files, registry strings).

/// UTF-16LE bytes as text (a trailing odd byte is dropped, bad pairs replaced by U+FFFD).
pub fn utf16le_text(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_bytes_and_lone_surrogates_never_fail() {
        assert_eq!(utf16le_text(&[0x41, 0, 0x42, 0x30, 0x43]), "A\u{3042}");
        assert_eq!(utf16le_text(&[0x00, 0xd8]), "\u{fffd}");
    }
}
