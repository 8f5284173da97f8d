/// The one loop behind every text escaper (HTML, chatmail.ini quoting,
/// Dovecot's tab escapes, ...): each unit found in `table` is replaced by
/// its entry, every other unit is copied. The caller picks the units:
/// a `String`'s Characters, or its `unicodeScalars` where a grapheme
/// cluster must not hide a unit (`"\r\n"` is one Character).
public func escaped<Units: Sequence>(_ units: Units, _ table: [Units.Element: String]) -> String
    where Units.Element: Hashable & TextOutputStreamable
{
    var out = ""
    for unit in units {
        if let replacement = table[unit] { out += replacement } else { unit.write(to: &out) }
    }
    return out
}
