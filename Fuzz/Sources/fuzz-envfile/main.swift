import AppInbox
import FuzzSupport

// Environment files (--env-file, systemd EnvironmentFile= syntax) and the configuration built
// from them. Input: the file's bytes.

/// What APP_INBOX_API_KEY_FILE and APP_INBOX_CA_FILE read, whatever the path.
let fileBytes = Array("file-secret-key\n".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: inputBytes(data, size), as: UTF8.self)
    guard case .success(let variables) = EnvFile.parse(text) else { return 0 }

    for (key, value) in variables {
        check(!key.isEmpty && key.utf8.allSatisfy(isNameByte), "variable name \(escaped(key.utf8))")
        // Lines are split before values are read, and a continuation drops its newline.
        check(!value.utf8.contains(0x0A), "newline in the value of \(key)")
    }

    // Written back in the file's syntax, the variables parse to the same bytes.
    let written = variables.sorted { $0.key < $1.key }.map { "\($0.key)=\(quoted($0.value))" }.joined(separator: "\n")
    switch EnvFile.parse(written) {
    case .success(let again):
        check(again.count == variables.count, "\(again.count) of \(variables.count) variables came back")
        for (key, value) in variables {
            check(sameBytes(again[key], value), "\(key) came back as \(escaped((again[key] ?? "(none)").utf8)) from \(escaped(written.utf8))")
        }
    case .failure(let problem):
        check(false, "written form refused (\(problem)): \(escaped(written.utf8))")
    }

    guard case .success(let config) = Config.load(environment: variables, readFile: { _ in fileBytes }) else { return 0 }
    check(!config.apiKey.isEmpty && !config.apiKey.utf8.contains { $0 < 0x20 || $0 == 0x7F }, "API key accepted")
    check(config.tokenURL.hasPrefix("https://"), "token URL \(escaped(config.tokenURL.utf8))")
    check(
        !config.basePath.hasSuffix("/") && !config.basePath.utf8.contains { $0 <= 0x20 || $0 == 0x3F || $0 == 0x23 },
        "base path \(escaped(config.basePath.utf8))")
    for name in [config.identityParams.email, config.identityParams.phone, config.identityParams.externalCustomerId] {
        check(!name.isEmpty && name.utf8.allSatisfy(isNameByte), "identity param \(escaped(name.utf8))")
    }
    // The summary never shows the key. A key with a newline stands out: no value from a file has one.
    var probe = config
    probe.apiKey = "key-marker\nkey-marker"
    check(!containsBytes(Array(probe.summary.joined(separator: "\u{0}").utf8), Array(probe.apiKey.utf8)), "summary shows the key")

    // Every configured value reaches init.js through JSONString: nothing it writes can end the
    // script element or a string, so the script has as many risky bytes as one from plain settings.
    if let catalog = InitScriptCatalog(settings: config.initScript, basePath: config.basePath) {
        check(catalog.scripts.count == config.initScript.languages.count, "a language without a script")
        var plain = InitScriptSettings()
        plain.includesLoader = config.initScript.includesLoader
        plain.siteID = "site"
        for (language, script) in catalog.scripts {
            plain.languages = [language]
            let baseline = InitScript(settings: plain, basePath: "/base", language: language)
            check(riskyBytes(script.body) == riskyBytes(baseline.body), "init.js with risky bytes from the settings")
        }
    }
    return 0
}

/// How many `<`, control bytes other than newline, and U+2028/U+2029 a script holds.
func riskyBytes(_ body: [UInt8]) -> Int {
    var count = 0
    for (index, byte) in body.enumerated() {
        if byte == UInt8(ascii: "<") || (byte < 0x20 && byte != 0x0A) || byte == 0x7F { count += 1 }
        if byte == 0xE2, index + 2 < body.count, body[index + 1] == 0x80, body[index + 2] == 0xA8 || body[index + 2] == 0xA9 {
            count += 1
        }
    }
    return count
}

func isNameByte(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F
}

/// A double-quoted value: only `"`, `\`, `` ` `` and `$` need a backslash there.
func quoted(_ value: String) -> String {
    var output = "\""
    for scalar in value.unicodeScalars {
        if "\"\\`$".unicodeScalars.contains(scalar) { output += "\\" }
        output.unicodeScalars.append(scalar)
    }
    return output + "\""
}
