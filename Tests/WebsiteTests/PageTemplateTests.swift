import Testing
import TestSupport
@testable import Website
import Support

@Suite struct PageTemplateTests {
    let values = PageValues(["name": "<b>A&B</b>", "html": "<i>x</i>", "on": "true", "off": "", "no": "false"])

    func render(_ text: String) throws -> String {
        try PageTemplate(text, file: "t.md", knownNames: values.names).render(values)
    }

    @Test func valuesAreEscapedUnlessTripleBraced() throws {
        #expect(try render("a {{name}} b {{ name }}") == "a &lt;b&gt;A&amp;B&lt;/b&gt; b &lt;b&gt;A&amp;B&lt;/b&gt;")
        #expect(try render("{{{html}}}") == "<i>x</i>")
    }

    @Test func sectionsFollowTheValue() throws {
        #expect(try render("[{{#on}}yes{{/on}}{{^on}}no{{/on}}]") == "[yes]")
        #expect(try render("[{{#off}}yes{{/off}}{{^off}}no{{/off}}]") == "[no]")
        #expect(try render("[{{#no}}yes{{/no}}{{^no}}no{{/no}}]") == "[no]")
        #expect(try render("{{#on}}a{{#off}}b{{/off}}c{{/on}}") == "ac")
    }

    @Test func standaloneSectionLinesVanish() throws {
        let text = "one\n  {{#on}}\ntwo\n{{/on}}\n{{^on}}\nthree\n{{/on}}\nfour\n"
        #expect(try render(text) == "one\ntwo\nfour\n")
    }

    @Test func sectionsOnlyPassKeepsValueTags() throws {
        let t = try PageTemplate("{{#on}}{{name}} {{{html}}}{{/on}}", file: "t.md", knownNames: values.names)
        #expect(t.renderSections(values) == "{{name}} {{{html}}}")
    }

    @Test func unknownNameNamesFileAndLine() {
        #expect {
            try render("ok\nfine\nhere {{privacy_mial}}")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("t.md:3: unknown name \"privacy_mial\"") && text.contains("name, no")
        }
    }

    @Test func unbalancedSectionsAreErrors() {
        #expect { try render("{{#on}}\nnever closed") } throws: {
            "\($0)" == "t.md:1: section {{#on}} is never closed with {{/on}}"
        }
        #expect { try render("a\n{{/on}}") } throws: { "\($0)" == "t.md:2: {{/on}} closes no open section" }
        #expect { try render("{{#on}}\n{{#off}}\n{{/on}}") } throws: {
            "\($0)".hasPrefix("t.md:3: {{/on}} found, but the section {{#off}} opened on line 2 is still open")
        }
        #expect { try render("x {{name") } throws: { "\($0)".hasPrefix("t.md:1: \"{{\" is never closed") }
        #expect { try render("{{na me}}") } throws: { "\($0)".contains("is not a valid tag") }
    }
}

@Suite struct MarkdownTests {
    @Test func rendersCommonMarkTablesAndRawHTML() {
        let html = Markdown.html("# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<div class=\"x\">raw</div>\n\n*em*")
        #expect(html.contains("<h1>Title</h1>"))
        #expect(html.contains("<table>"))
        #expect(html.contains("<td>2</td>"))
        #expect(html.contains("<div class=\"x\">raw</div>"))
        #expect(html.contains("<em>em</em>"))
    }

    @Test func templateTagsSurviveMarkdown() {
        let html = Markdown.html("Limit: {{max_message_size_mb}} MB, {{{account_qr}}}")
        #expect(html.contains("{{max_message_size_mb}}"))
        #expect(html.contains("{{{account_qr}}}"))
    }
}
