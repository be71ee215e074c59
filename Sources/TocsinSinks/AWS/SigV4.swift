import Crypto
import Foundation
import TocsinCore

/// AWS credentials for request signing. The secret key and session token are `Secret`s, and the
/// description shows only the access key id, which travels in clear in every `Authorization` header anyway.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let accessKeyID: String
    public let secretAccessKey: Secret
    /// Present for temporary (STS) credentials; sent as `X-Amz-Security-Token`.
    public let sessionToken: Secret?

    public init(accessKeyID: String, secretAccessKey: Secret, sessionToken: Secret? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <secret>\(sessionToken == nil ? "" : ", sessionToken: <secret>"))"
    }
    public var debugDescription: String { description }
    /// No children, so `dump` cannot walk into the secrets.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// One HTTP request to be signed.
public struct SigV4Request: Sendable {
    public enum Payload: Sendable, Equatable {
        case bytes([UInt8])
        /// A hex SHA-256 computed elsewhere (for a streamed body), or `UNSIGNED-PAYLOAD` where a service allows it.
        case precomputedHash(String)
    }

    public var method: String
    /// Used for the `Host` header when `headers` carries none.
    public var host: String
    /// The path exactly as it appears in the request line, already percent-encoded where the wire needs it:
    /// the signer encodes it once more, which is the "double encoding" every service except S3 expects.
    public var path: String
    /// Names and values unencoded; the signer applies RFC 3986 encoding itself.
    public var queryItems: [(name: String, value: String)]
    /// In sending order; a name may repeat (the values are then signed comma-joined in that order).
    /// `Authorization`, `X-Amz-Date` and `X-Amz-Security-Token` do not belong here: the signer ignores them
    /// and returns its own in `SigV4Signature.headersToAdd`.
    public var headers: [(String, String)]
    public var payload: Payload

    public init(
        method: String,
        host: String,
        path: String,
        queryItems: [(name: String, value: String)] = [],
        headers: [(String, String)] = [],
        payload: Payload = .bytes([])
    ) {
        self.method = method
        self.host = host
        self.path = path
        self.queryItems = queryItems
        self.headers = headers
        self.payload = payload
    }
}

/// The outcome of signing: the intermediate texts (kept for tests and for diagnosing a
/// `SignatureDoesNotMatch`, whose error body echoes AWS's own canonical request) and the headers to send.
public struct SigV4Signature: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let canonicalRequest: String
    public let stringToSign: String
    /// Lower-case hex.
    public let signature: String
    public let signedHeaders: String
    /// Append these to the request's headers: `Host` (only when absent), `X-Amz-Security-Token`,
    /// `X-Amz-Date`, `x-amz-content-sha256` (only when asked for) and `Authorization`.
    public let headersToAdd: [(String, String)]

    /// The canonical request and added headers may hold the session token, so neither is shown.
    public var description: String { "SigV4Signature(signedHeaders: \(signedHeaders), signature: \(signature))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) header signing. A pure value: the time comes in as an
/// argument, so the same inputs always give the same signature.
public struct SigV4Signer: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public struct Options: Sendable, Hashable {
        /// Drop empty and `.` segments and resolve `..` before encoding the path. Every service but S3 does.
        public var normalizesPath: Bool
        /// Add and sign `x-amz-content-sha256`. S3 requires it; other services accept it.
        public var addsContentHashHeader: Bool
        /// When false the session token is still sent but left out of the signature, which a few
        /// services (IoT's websocket endpoint) require; the default signs it.
        public var signsSessionToken: Bool

        public init(normalizesPath: Bool = true, addsContentHashHeader: Bool = false, signsSessionToken: Bool = true) {
            self.normalizesPath = normalizesPath
            self.addsContentHashHeader = addsContentHashHeader
            self.signsSessionToken = signsSessionToken
        }
    }

    public static let algorithm = "AWS4-HMAC-SHA256"
    /// Hex SHA-256 of zero bytes, the payload hash of every body-less request.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Headers the signer sets itself, so a caller's copy must not be signed as well.
    private static let headersSetBySigner: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token"]
    /// Proxies and HTTP clients add, rewrite or drop these after signing, which would break the signature.
    private static let unsignableHeaders: Set<String> = ["user-agent", "x-amzn-trace-id", "connection", "expect", "transfer-encoding"]

    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    public let options: Options

    public init(credentials: AWSCredentials, region: String, service: String, options: Options = Options()) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.options = options
    }

    public var description: String { "SigV4Signer(\(credentials), region: \(region), service: \(service))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    public func sign(_ request: SigV4Request, at date: Date) -> SigV4Signature {
        let (amzDate, dateStamp) = Self.timestamps(date)
        let scope = "\(dateStamp)/\(region)/\(service)/aws4_request"
        let payloadHash: String
        switch request.payload {
        case .bytes(let body): payloadHash = Self.hexSHA256(body)
        case .precomputedHash(let hash): payloadHash = hash
        }

        var added: [(String, String)] = []
        if !request.headers.contains(where: { $0.0.lowercased() == "host" }) {
            added.append(("Host", request.host))
        }
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token.exposedValue))
        }
        added.append(("X-Amz-Date", amzDate))
        if options.addsContentHashHeader {
            added.append(("x-amz-content-sha256", payloadHash))
        }

        var excluded = Self.headersSetBySigner.union(Self.unsignableHeaders)
        if options.addsContentHashHeader { excluded.insert("x-amz-content-sha256") }
        var toSign = request.headers.filter { !excluded.contains($0.0.lowercased()) }
        toSign += added.filter { $0.0.lowercased() != "x-amz-security-token" || options.signsSessionToken }
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(toSign)

        let canonicalRequest = [
            request.method,
            canonicalPath(request.path),
            Self.canonicalQuery(request.queryItems),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [Self.algorithm, amzDate, scope, Self.hexSHA256(Array(canonicalRequest.utf8))].joined(separator: "\n")

        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey.exposedValue)".utf8))
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))

        added.append(
            (
                "Authorization",
                "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
            )
        )
        return SigV4Signature(
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign,
            signature: signature,
            signedHeaders: signedHeaders,
            headersToAdd: added
        )
    }

    // MARK: - Canonical request parts

    func canonicalPath(_ path: String) -> String {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if options.normalizesPath {
            var kept: [String] = []
            for segment in segments {
                switch segment {
                case "", ".": continue
                case "..": _ = kept.popLast()
                default: kept.append(segment)
                }
            }
            // A trailing slash names a different resource, so normalising keeps it.
            let endsInDirectory = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
            segments = [""] + kept + (endsInDirectory && !kept.isEmpty ? [""] : [])
        }
        let encoded = segments.map { Self.uriEncode($0) }.joined(separator: "/")
        return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        items.map { (uriEncode($0.name), uriEncode($0.value)) }
            .sorted { left, right in
                left.0 == right.0
                    ? Array(left.1.utf8).lexicographicallyPrecedes(right.1.utf8) : Array(left.0.utf8).lexicographicallyPrecedes(right.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Returns the `name:value\n` block and the `;`-joined signed header list.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (String, String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            values[name.lowercased(), default: []].append(collapsingWhitespace(value))
        }
        let names = values.keys.sorted { Array($0.utf8).lexicographicallyPrecedes($1.utf8) }
        let block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Trims the value and turns each inner run of whitespace (folded continuation lines included) into one space.
    static func collapsingWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).joined(separator: " ")
    }

    /// RFC 3986 percent-encoding of every byte outside the unreserved set `A-Z a-z 0-9 - . _ ~`.
    static func uriEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
            }
        }
        return result
    }

    // MARK: - Helpers

    private static let hexDigits = Array("0123456789ABCDEF")
    private static let lowerHexDigits = Array("0123456789abcdef")

    static func hexSHA256(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var result = ""
        for byte in bytes {
            result.append(lowerHexDigits[Int(byte >> 4)])
            result.append(lowerHexDigits[Int(byte & 0x0F)])
        }
        return result
    }

    /// `yyyyMMdd'T'HHmmss'Z'` and `yyyyMMdd`, both UTC, built from calendar components so that no
    /// formatter's locale or calendar setting can change the digits.
    static func timestamps(_ date: Date) -> (amzDate: String, dateStamp: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let dateStamp = pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2)
        return (dateStamp + "T" + pad(parts.hour, 2) + pad(parts.minute, 2) + pad(parts.second, 2) + "Z", dateStamp)
    }
}
