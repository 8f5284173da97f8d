import Testing
@testable import Website

@Suite struct HTMLTests {
    @Test func everyMarkupCharacterIsEscapedEvenWithACombiningMark() {
        #expect(HTML.escape(#"<a href="x" title='y'>&</a>"#)
                == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
        // A quote followed by a combining acute accent is one Character;
        // escaping by Character would let the quote through into an attribute.
        #expect(HTML.escape("a\"\u{301} onmouseover=x") == "a&quot;\u{301} onmouseover=x")
        #expect(HTML.escape("<\u{338}") == "&lt;\u{338}")
    }
}
