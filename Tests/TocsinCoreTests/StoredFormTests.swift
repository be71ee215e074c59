import Foundation
import Testing
import TocsinCore

@Suite("Stored form and JSON writer")
struct StoredFormTests {
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    static var sampleEvent: Event {
        Event(
            id: "e-1",
            kind: .alert,
            severity: .critical,
            category: .repairs,
            status: .firing,
            labels: ["node": "n1", "quote": "a \"b\" \\ c\n"],
            summary: "Repair \u{1F525} failing",
            description: "line one\nline two\t/slash",
            details: .object(["count": .number(3), "ratio": .number(0.25), "ok": .bool(false), "none": .null, "list": .array([.string("x")])]),
            links: [Link(href: "http://ui/x?y=1&z=2", text: "UI"), Link(href: "http://bare")],
            startsAt: Date(timeIntervalSince1970: 1_700_000_000.123),
            endsAt: Date(timeIntervalSince1970: 1_700_000_300),
            receivedAt: Date(timeIntervalSince1970: 1_700_000_001.5),
            fingerprint: "abcd",
            source: .alertmanager
        )
    }

    @Test("an event written by hand reads back by hand and through JSONDecoder, equal to the original")
    func eventRoundTrip() throws {
        let event = Self.sampleEvent
        let bytes = JSONWriter.write(event.storedForm)
        let byHand = try Event(storedForm: JSONParser.parse(bytes))
        #expect(byHand == event)
        let byDecoder = try Self.decoder.decode(Event.self, from: Data(bytes))
        #expect(byDecoder == event)
    }

    @Test("what JSONEncoder wrote reads back by hand: old rows stay readable")
    func encoderOutputReadsByHand() throws {
        let notification = NotificationRecord(
            id: "n-1",
            type: .resolve,
            event: Self.sampleEvent,
            alertStartsAt: Date(timeIntervalSince1970: 1_700_000_000),
            createdAt: Date(timeIntervalSince1970: 1_700_000_002)
        )
        let encoded = try Self.encoder.encode(notification)
        let decoded = try NotificationRecord(storedForm: JSONParser.parse(Array(encoded)))
        #expect(decoded == notification)
        let written = JSONWriter.write(notification.storedForm)
        #expect(try Self.decoder.decode(NotificationRecord.self, from: Data(written)) == notification)
    }

    @Test("a stored form with a missing or wrong field is refused with the field's name")
    func brokenStoredForm() throws {
        var object = try #require(Self.sampleEvent.storedForm.objectValue)
        object["severity"] = .string("loud")
        #expect(throws: StoredFormError(field: "severity")) { try Event(storedForm: .object(object)) }
        object["severity"] = .string("info")
        object.removeValue(forKey: "receivedAt")
        #expect(throws: StoredFormError(field: "receivedAt")) { try Event(storedForm: .object(object)) }
    }

    @Test("the writer escapes what JSON requires, sorts keys and writes whole numbers without a fraction")
    func writerOutput() throws {
        let value = JSONValue.object(["b": .number(2), "a": .string("q\"\\\n\u{01}/é"), "c": .number(1.5)])
        #expect(JSONWriter.string(value) == #"{"a":"q\"\\\n\u0001/é","b":2,"c":1.5}"#)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(JSONWriter.write(value))) == value)
    }
}
