import Foundation
import Testing
import TocsinCore

@Suite("JSON parser")
struct JSONParserTests {
    static func parse(_ text: String) -> JSONValue? {
        try? JSONParser.parse(Array(text.utf8))
    }

    @Test(
        "valid documents parse to what Foundation's decoder makes of them",
        arguments: [
            #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            #"  [ 1 , -2.5 , 3e2 , 0.125E-2 , -0 ]  "#,
            #""plain""#,
            #""esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\udd25 end""#,
            #"{"":""}"#,
            "[]",
            "{}",
            "12345678901234567890",
            #"{"k":"é and 日本語 in UTF-8"}"#,
        ]
    )
    func validDocuments(text: String) throws {
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(Self.parse(text) == expected)
    }

    @Test(
        "what RFC 8259 refuses is refused",
        arguments: [
            "", " ", "{", "[1,]", #"{"a":1,}"#, "01", "1.", ".5", "-", "+1", "1e", "tru", "nul", "[1 2]", #"{"a" 1}"#, "{a:1}",
            #""unterminated"#, "\"tab\there\"", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00""#, "1 2", "NaN", "Infinity", "1e999",
        ]
    )
    func invalidDocuments(text: String) {
        #expect(Self.parse(text) == nil, "accepted: \(text)")
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        #expect((try? JSONParser.parse([0x22, 0xC3, 0x28, 0x22])) == nil)
        #expect((try? JSONParser.parse([0x22, 0xFF, 0x22])) == nil)
    }

    @Test("nesting is bounded instead of exhausting the stack")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.parse(deep) == nil)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(Self.parse(fine) != nil)
    }

    @Test("random values survive an encode with JSONEncoder and a parse")
    func roundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        func randomValue(depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &generator) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &generator))
            case 2: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 8)
            case 3:
                let scalars = (0..<Int.random(in: 0..<12, using: &generator)).compactMap { _ in
                    Unicode.Scalar(UInt32.random(in: 0x20...0x2FFF, using: &generator))
                }
                return .string(String(String.UnicodeScalarView(scalars)))
            case 4: return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in randomValue(depth: depth + 1) })
            default:
                var object: [String: JSONValue] = [:]
                for index in 0..<Int.random(in: 0..<4, using: &generator) { object["k\(index)"] = randomValue(depth: depth + 1) }
                return .object(object)
            }
        }
        for _ in 0..<500 {
            let value = randomValue(depth: 0)
            let encoded = try JSONEncoder().encode(value)
            #expect(try JSONParser.parse(Array(encoded)) == value)
        }
    }
}
