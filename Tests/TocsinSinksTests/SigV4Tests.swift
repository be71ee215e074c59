import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// One case of the aws-c-auth SigV4 suite, read from `Tests/Fixtures/sigv4/<name>/`.
struct SigV4Vector {
    /// Every v4 case of the suite is kept (see Tests/Fixtures/sigv4/README.md); fewer means fixtures went missing.
    static let expectedCaseCount = 38

    struct Context: Decodable {
        struct Credentials: Decodable {
            let accessKeyID: String
            let secretAccessKey: String
            let token: String?

            enum CodingKeys: String, CodingKey {
                case accessKeyID = "access_key_id"
                case secretAccessKey = "secret_access_key"
                case token
            }
        }

        let credentials: Credentials
        let region: String
        let service: String
        let timestamp: String
        let normalize: Bool
        let signBody: Bool
        let omitSessionToken: Bool?

        enum CodingKeys: String, CodingKey {
            case credentials, region, service, timestamp, normalize
            case signBody = "sign_body"
            case omitSessionToken = "omit_session_token"
        }
    }

    /// A raw HTTP/1.1 request as the suite writes it: the request line may hold unencoded bytes (spaces, UTF-8),
    /// header lines starting with whitespace continue the previous header, and the body follows the blank line.
    struct RawRequest {
        var method = ""
        var path = ""
        var queryItems: [(name: String, value: String)] = []
        var headers: [(String, String)] = []
        var body: [UInt8] = []

        init(_ bytes: [UInt8]) throws {
            let separator = Array("\n\n".utf8)
            var headEnd = bytes.count
            var bodyStart = bytes.count
            if let index = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) {
                headEnd = index
                bodyStart = index + separator.count
            }
            body = Array(bytes[bodyStart...])
            let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let requestLine = try #require(lines.first)
            // The target may contain spaces, so the method ends at the first space and the version starts at the last.
            let firstSpace = try #require(requestLine.firstIndex(of: " "))
            let lastSpace = try #require(requestLine.lastIndex(of: " "))
            method = String(requestLine[..<firstSpace])
            let target = requestLine[requestLine.index(after: firstSpace)..<lastSpace]
            if let question = target.firstIndex(of: "?") {
                path = String(target[..<question])
                for pair in target[target.index(after: question)...].split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let name = String(parts[0])
                    let value = parts.count > 1 ? String(parts[1]) : ""
                    queryItems.append((name.removingPercentEncoding ?? name, value.removingPercentEncoding ?? value))
                }
            } else {
                path = String(target)
            }
            for line in lines.dropFirst() where !line.isEmpty {
                if line.first == " " || line.first == "\t", !headers.isEmpty {
                    headers[headers.count - 1].1 += " " + line
                    continue
                }
                let colon = try #require(line.firstIndex(of: ":"))
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
    }

    let name: String
    let context: Context
    let request: RawRequest

    static var directory: String { Fixtures.path("sigv4") }

    /// Case folders found on disk now, so that a new or removed fixture changes what runs.
    static func caseNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/context.json") }.sorted()
    }

    init(name: String) throws {
        self.name = name
        context = try JSONDecoder().decode(Context.self, from: Data(contentsOf: URL(fileURLWithPath: "\(Self.directory)/\(name)/context.json")))
        request = try RawRequest(Array(Data(contentsOf: URL(fileURLWithPath: "\(Self.directory)/\(name)/request.txt"))))
    }

    func file(_ fileName: String) throws -> String {
        try String(contentsOfFile: "\(Self.directory)/\(name)/\(fileName)", encoding: .utf8)
    }

    func sign() throws -> SigV4Signature {
        let date = try #require(ISO8601DateFormatter().date(from: context.timestamp))
        let credentials = AWSCredentials(
            accessKeyID: context.credentials.accessKeyID,
            secretAccessKey: Secret(context.credentials.secretAccessKey),
            sessionToken: context.credentials.token.map(Secret.init)
        )
        let signer = SigV4Signer(
            credentials: credentials,
            region: context.region,
            service: context.service,
            options: .init(
                normalizesPath: context.normalize,
                addsContentHashHeader: context.signBody,
                signsSessionToken: !(context.omitSessionToken ?? false)
            )
        )
        let host = request.headers.first { $0.0.lowercased() == "host" }?.1 ?? "example.amazonaws.com"
        let signable = SigV4Request(
            method: request.method,
            host: host,
            path: request.path,
            queryItems: request.queryItems,
            headers: request.headers,
            payload: .bytes(request.body)
        )
        return signer.sign(signable, at: date)
    }
}

@Suite("AWS SigV4 signing")
struct SigV4Tests {
    @Test("every aws-c-auth v4 case is present")
    func allCasesPresent() {
        #expect(SigV4Vector.caseNames().count == SigV4Vector.expectedCaseCount, "fixtures under \(SigV4Vector.directory)")
    }

    @Test("canonical request, string to sign and signature match the official vector", arguments: SigV4Vector.caseNames())
    func matchesVector(_ name: String) throws {
        let vector = try SigV4Vector(name: name)
        let signed = try vector.sign()
        #expect(signed.canonicalRequest == (try vector.file("header-canonical-request.txt")))
        #expect(signed.stringToSign == (try vector.file("header-string-to-sign.txt")))
        #expect(signed.signature == (try vector.file("header-signature.txt")))

        // The suite's signed request is the original request with the signer's headers appended, in this order.
        let expected = try SigV4Vector.RawRequest(Array((try vector.file("header-signed-request.txt")).utf8))
        let added = expected.headers.dropFirst(vector.request.headers.count).map { [$0.0.lowercased(), $0.1] }
        #expect(signed.headersToAdd.map { [$0.0.lowercased(), $0.1] } == added)
    }

    @Test("Host is added when the request has none")
    func addsHost() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "eu-west-1", service: "logs")
        let signed = signer.sign(SigV4Request(method: "POST", host: "logs.eu-west-1.amazonaws.com", path: "/"), at: Self.date)
        #expect(signed.headersToAdd.first.map { [$0.0, $0.1] } == ["Host", "logs.eu-west-1.amazonaws.com"])
        #expect(signed.signedHeaders == "host;x-amz-date;x-amz-security-token")
    }

    @Test("an empty body hashes to the SHA-256 of zero bytes")
    func emptyPayloadHash() {
        #expect(SigV4Signer.emptyPayloadHash == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let signer = SigV4Signer(credentials: Self.credentials, region: "eu-west-1", service: "logs")
        let signed = signer.sign(SigV4Request(method: "GET", host: "h", path: "/"), at: Self.date)
        #expect(signed.canonicalRequest.hasSuffix("\n" + SigV4Signer.emptyPayloadHash))
    }

    @Test("a precomputed payload hash is used as given")
    func precomputedPayloadHash() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "eu-west-1", service: "logs")
        let request = SigV4Request(method: "PUT", host: "h", path: "/", payload: .precomputedHash("UNSIGNED-PAYLOAD"))
        #expect(signer.sign(request, at: Self.date).canonicalRequest.hasSuffix("\nUNSIGNED-PAYLOAD"))
    }

    @Test("credentials, signer and signature never print the secret key or session token")
    func secretsNeverPrinted() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "eu-west-1", service: "logs")
        let signed = signer.sign(SigV4Request(method: "GET", host: "h", path: "/"), at: Self.date)
        var texts: [String] = []
        for value in [Self.credentials as Any, signer, signed] {
            texts.append(String(describing: value))
            texts.append(String(reflecting: value))
            texts.append("\(value)")
            var dumped = ""
            dump(value, to: &dumped)
            texts.append(dumped)
        }
        for text in texts {
            #expect(!text.contains(Self.secretKey), "\(text)")
            #expect(!text.contains(Self.sessionToken), "\(text)")
        }
        #expect(String(describing: Self.credentials).contains("AKIDEXAMPLE"))
    }

    static let secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let sessionToken = "session-token-that-must-not-print"
    static let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Secret(secretKey), sessionToken: Secret(sessionToken))
    static let date = Date(timeIntervalSince1970: 1_440_938_160)
}
