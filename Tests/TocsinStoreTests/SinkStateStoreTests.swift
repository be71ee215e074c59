import Foundation
import Testing
import TocsinCore
import TocsinStore

@Suite("Sink state in the SQLite store")
struct SinkStateStoreTests {
    @Test("values are kept per integration and key, replaced, removed, and survive reopening the database")
    func roundTripAndReopen() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("state.db").path
            let store = try await openStore(path: path)
            try await store.setValue("C123/1503435956.000247", integration: "slack-bot", key: "alert/fp-1", now: storeT0)
            try await store.setValue("other", integration: "slack-two", key: "alert/fp-1", now: storeT0)
            #expect(try await store.value(integration: "slack-bot", key: "alert/fp-1") == "C123/1503435956.000247")
            try await store.setValue("C123/1503435999.000001", integration: "slack-bot", key: "alert/fp-1", now: storeT0)
            #expect(try await store.value(integration: "slack-bot", key: "alert/fp-1") == "C123/1503435999.000001")
            #expect(try await store.value(integration: "slack-bot", key: "alert/fp-2") == nil)
            try await store.close()

            let reopened = try await openStore(path: path)
            #expect(try await reopened.value(integration: "slack-bot", key: "alert/fp-1") == "C123/1503435999.000001")
            #expect(try await reopened.value(integration: "slack-two", key: "alert/fp-1") == "other")
            try await reopened.removeValue(integration: "slack-bot", key: "alert/fp-1")
            #expect(try await reopened.value(integration: "slack-bot", key: "alert/fp-1") == nil)
            #expect(try await reopened.value(integration: "slack-two", key: "alert/fp-1") == "other")
            #expect(try await reopened.schemaVersion() == 3)
            try await reopened.close()
        }
    }

    @Test("concurrent writers each see their own value committed")
    func concurrentWrites() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await openStore(path: directory.appendingPathComponent("state.db").path)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask { try await store.setValue("v\(index)", integration: "i", key: "k\(index)", now: storeT0) }
                }
                try await group.waitForAll()
            }
            for index in 0..<50 {
                #expect(try await store.value(integration: "i", key: "k\(index)") == "v\(index)")
            }
            try await store.close()
        }
    }
}
