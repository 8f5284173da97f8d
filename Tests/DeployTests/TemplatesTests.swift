import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct TemplatesTests {
    @Test func templatesAreEmbeddedAndRenderAsPlainText() throws {
        #expect(Templates.names.contains("engine-selftest/sample.conf.mustache"))
        let out = try Templates.render("engine-selftest/sample.conf.mustache",
                                       ["domain": "chat.example.org", "ipv6": false, "raw": "<a&b>", "plain": "<c>"])
        #expect(out == "# rendered for chat.example.org\nlisten = *\nvalue = <a&b> and <c>\n")
    }

    @Test func unknownTemplateIsNamed() {
        #expect {
            try Templates.text("postfix/nope.cf")
        } throws: { error in
            "\(error)".hasPrefix("templates/postfix/nope.cf: no such template")
        }
    }
}
