import Testing

@testable import AppInbox

private func parsed(_ text: String) throws -> [String: String] {
    try EnvFile.parse(text).get()
}

private func problem(_ text: String) -> ConfigProblem? {
    if case .failure(let problem) = EnvFile.parse(text) { return problem }
    return nil
}

@Suite("EnvFile.parse")
struct EnvFileTests {
    @Test func keyValueLines() throws {
        #expect(
            try parsed("APP_INBOX_API_KEY=sk-123\nAPP_INBOX_TIMEOUT_MS=3000\n") == ["APP_INBOX_API_KEY": "sk-123", "APP_INBOX_TIMEOUT_MS": "3000"])
        #expect(try parsed("A=1") == ["A": "1"])
        #expect(try parsed("") == [:])
    }

    @Test func valueKeepsEqualsSignsAndInnerSpaces() throws {
        #expect(try parsed("URL=https://x/?a=b&c=d\nMSG=hello  world") == ["URL": "https://x/?a=b&c=d", "MSG": "hello  world"])
    }

    @Test func whitespaceAroundKeysAndUnquotedValuesIsDropped() throws {
        #expect(try parsed("  A = 1  \n\tB=\t2\t") == ["A": "1", "B": "2"])
        #expect(try parsed("EMPTY=\nSPACES=   ") == ["EMPTY": "", "SPACES": ""])
    }

    @Test func exportPrefix() throws {
        #expect(try parsed("export APP_INBOX_API_KEY=sk\nexport  B=2") == ["APP_INBOX_API_KEY": "sk", "B": "2"])
    }

    @Test func commentsAndBlankLines() throws {
        let text = """
            # the key
            ; an ini-style comment
              # indented comment

            A=1
            \t
            ;B=2
            #C=3
            D=4 # not a comment: systemd keeps it
            """
        #expect(try parsed(text) == ["A": "1", "D": "4 # not a comment: systemd keeps it"])
    }

    @Test func laterAssignmentWins() throws {
        #expect(try parsed("A=1\nA=2") == ["A": "2"])
    }

    @Test func singleQuotesAreLiteral() throws {
        #expect(try parsed(#"A='a "b" \n c # d'"#) == ["A": #"a "b" \n c # d"#])
        #expect(try parsed("A='  padded  '") == ["A": "  padded  "])
        #expect(try parsed("A=''") == ["A": ""])
    }

    @Test func doubleQuotesWithEscapes() throws {
        #expect(try parsed(#"A="say \"hi\"""#) == ["A": #"say "hi""#])
        #expect(try parsed(#"A="back\\slash""#) == ["A": #"back\slash"#])
        #expect(try parsed(#"A="it's""#) == ["A": "it's"])
        #expect(try parsed(#"A="  # kept  ""#) == ["A": "  # kept  "])
    }

    @Test func trailingBackslashContinuesTheLine() throws {
        #expect(try parsed("A=one\\\ntwo\nB=3") == ["A": "onetwo", "B": "3"])
        #expect(try parsed("A=\"one \\\ntwo\"") == ["A": "one two"])
        #expect(try parsed("A=1\\\n\\\n2") == ["A": "12"])
    }

    @Test func continuationAtEndOfFile() throws {
        #expect(try parsed("A=1\\") == ["A": "1"])
    }

    @Test func commentEndingInBackslashDoesNotSwallowTheNextLine() throws {
        #expect(try parsed("# comment \\\nA=1") == ["A": "1"])
    }

    @Test func singleCRLFLine() throws {
        #expect(try parsed("A=1\r\n") == ["A": "1"])
    }

    @Test func crlfFilesSplitIntoLines() throws {
        #expect(
            try parsed("APP_INBOX_API_KEY=sk-123\r\nAPP_INBOX_TIMEOUT_MS=3000\r\n")
                == ["APP_INBOX_API_KEY": "sk-123", "APP_INBOX_TIMEOUT_MS": "3000"])
        #expect(try parsed("A=one\\\r\ntwo\r\nB=2\r\n") == ["A": "onetwo", "B": "2"])
    }

    @Test func otherBackslashesInDoubleQuotesAreKeptAsInSystemd() throws {
        #expect(try parsed(#"A="line\nbreak \$HOME \`x\`""#) == ["A": #"line\nbreak $HOME `x`"#])
    }

    @Test func malformedLineIsReportedWithItsNumber() {
        let found = problem("A=1\n# comment\n\nnot an assignment\nB=2")
        #expect(found?.variable == "line 4")
        #expect(found?.message.contains("KEY=value") == true)
        #expect(problem("just words")?.variable == "line 1")
    }

    @Test func lineNumberCountsContinuedLines() {
        #expect(problem("A=1\\\n2\\\n3\noops")?.variable == "line 4")
        #expect(problem("A=1\nbro\\\nken")?.variable == "line 2")
    }

    @Test(arguments: ["=value", "BAD-NAME=1", "A B=1", "export =1", "É=1", "A.B=1"])
    func invalidNamesAreReported(_ line: String) {
        let found = problem("OK=1\n" + line)
        #expect(found?.variable == "line 2")
    }

    @Test(arguments: [#"A="unterminated"#, "A='unterminated", #"A="ends with escape\""#, #"A="a" trailing"#, "A='a'b"])
    func unterminatedOrTrailingQuoteIsReported(_ line: String) {
        let found = problem("X=1\n\n" + line + "\nY=2")
        #expect(found?.variable == "line 3")
        #expect(found?.message.contains("quote in A") == true)
    }

    @Test func resultFeedsConfig() throws {
        let env = try parsed("export APP_INBOX_API_KEY='sk-from-file'\nAPP_INBOX_BASE_PATH=\"/inbox/\"\n")
        let config = try Config.load(environment: env, readFile: { _ in [] }).get()
        #expect(config.apiKey == "sk-from-file")
        #expect(config.basePath == "/inbox")
    }

    /// Delimiters are found by scalar: a combining mark after a quote, `=` or backslash, or a
    /// prepended mark before one, makes a single Character with it (found by fuzzing).
    @Test func marksNextToDelimitersDoNotHideThem() throws {
        #expect(try parsed("A=\"x\u{601}\"") == ["A": "x\u{601}"])
        #expect(try parsed("A=\u{301}1") == ["A": "\u{301}1"])
        #expect(try parsed("A=\"\u{301}x\"") == ["A": "\u{301}x"])
        #expect(try parsed("A=\"\\`\u{301}\"") == ["A": "`\u{301}"])
        #expect(problem("A=\"x\"\u{301}") != nil)  // text after the closing quote
        #expect(try parsed("#\u{301} comment\nA=1") == ["A": "1"])
    }
}
