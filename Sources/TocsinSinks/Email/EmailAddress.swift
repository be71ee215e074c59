import Foundation

/// A mailbox: `ops@example.com` or `Tocsin Alerts <alerts@example.com>`.
///
/// Only what a submission client must get right is accepted: an ASCII dot-atom local part (no quoted local parts)
/// and a host name or an IPv4 address literal. Non-ASCII addresses would need SMTPUTF8, which Tocsin does not use;
/// a display name may be any text (it is sent as an RFC 2047 encoded-word when it is not plain ASCII).
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    public var displayName: String?
    public var localPart: String
    public var domain: String

    /// `local@domain`, as it goes into `MAIL FROM:<…>` and `RCPT TO:<…>`.
    public var address: String { "\(localPart)@\(domain)" }

    public var description: String {
        guard let displayName else { return address }
        return "\(displayName) <\(address)>"
    }

    public init(displayName: String? = nil, localPart: String, domain: String) {
        self.displayName = displayName
        self.localPart = localPart
        self.domain = domain
    }

    /// Characters RFC 5322 allows in an atom (`atext`), besides letters and digits.
    private static let atomSymbols = Set("!#$%&'*+-/=?^_`{|}~")

    /// The address in `text`, or why it is not one.
    public static func parse(_ text: String) -> Result<EmailAddress, EmailAddressProblem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return .failure(EmailAddressProblem("is empty")) }
        // A line break or another control character would let a configured value add a header of its own.
        if trimmed.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) {
            return .failure(EmailAddressProblem("contains a control character"))
        }
        var displayName: String?
        var addressText = trimmed
        if let open = trimmed.lastIndex(of: "<") {
            guard trimmed.hasSuffix(">") else { return .failure(EmailAddressProblem("'\(trimmed)' has '<' without a closing '>' at the end")) }
            addressText = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") { name = String(name.dropFirst().dropLast()) }
            if name.contains("\"") || name.contains("\\") || name.contains("<") || name.contains(">") {
                return .failure(EmailAddressProblem("the display name of '\(trimmed)' may not contain quotes, backslashes or angle brackets"))
            }
            displayName = name.isEmpty ? nil : name
        }
        guard addressText.unicodeScalars.allSatisfy(\.isASCII) else {
            return .failure(EmailAddressProblem("'\(addressText)' is not an ASCII address (SMTPUTF8 is not supported)"))
        }
        guard let at = addressText.lastIndex(of: "@") else { return .failure(EmailAddressProblem("'\(addressText)' has no @")) }
        let localPart = String(addressText[..<at])
        let domain = String(addressText[addressText.index(after: at)...])
        if let problem = localPartProblem(localPart) ?? domainProblem(domain) {
            return .failure(EmailAddressProblem("'\(addressText)': \(problem)"))
        }
        // RFC 5321 §4.5.3.1.3: a path (the address between < and >) has at most 256 octets with its brackets.
        guard addressText.utf8.count <= 254 else { return .failure(EmailAddressProblem("'\(addressText)' is longer than 254 characters")) }
        return .success(EmailAddress(displayName: displayName, localPart: localPart, domain: domain))
    }

    private static func localPartProblem(_ localPart: String) -> String? {
        guard !localPart.isEmpty else { return "the part before @ is empty" }
        guard localPart.utf8.count <= 64 else { return "the part before @ is longer than 64 characters" }
        guard !localPart.hasPrefix("."), !localPart.hasSuffix("."), !localPart.contains("..") else {
            return "the part before @ may not start or end with a dot or hold two dots in a row"
        }
        for character in localPart where !(character.isLetter || character.isNumber || character == "." || atomSymbols.contains(character)) {
            return "the part before @ may not contain '\(character)'"
        }
        return nil
    }

    private static func domainProblem(_ domain: String) -> String? {
        guard !domain.isEmpty else { return "the part after @ is empty" }
        if domain.hasPrefix("[") {
            guard domain.hasSuffix("]"), IPv4Literal.isValid(String(domain.dropFirst().dropLast())) else {
                return "the address literal after @ must be an IPv4 address in brackets, such as [192.0.2.1]"
            }
            return nil
        }
        guard domain.utf8.count <= 253 else { return "the domain is longer than 253 characters" }
        for label in domain.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= 63 else { return "the domain has an empty label or one longer than 63 characters" }
            guard label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }), !label.hasPrefix("-"), !label.hasSuffix("-") else {
                return "the domain label '\(label)' may hold only letters, digits and inner hyphens"
            }
        }
        return nil
    }
}

/// Why a text is not an address.
public struct EmailAddressProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

enum IPv4Literal {
    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in part.count <= 3 && !part.isEmpty && part.allSatisfy(\.isASCII) && (UInt8(part) != nil) }
    }
}
