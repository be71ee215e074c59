import Foundation
import Testing
import TocsinCore
import TocsinStore

@Suite("Store: sink state")
struct SinkStateStoreTests {
    @Test(
        "values are kept per integration and key, replaced, removed, and survive reopening the database",
        arguments: StoreKind.allCases
    )
    func roundTripAndReopen(kind: StoreKind) async throws {
        try await withStoreLocation(kind) { location in
            var latestVersion = 0
            try await withOpenStore(location) { store in
                try await store.setValue("C123/1503435956.000247", integration: "slack-bot", key: "alert/fp-1", now: storeT0)
                try await store.setValue("other", integration: "slack-two", key: "alert/fp-1", now: storeT0)
                #expect(try await store.value(integration: "slack-bot", key: "alert/fp-1") == "C123/1503435956.000247")
                try await store.setValue("C123/1503435999.000001", integration: "slack-bot", key: "alert/fp-1", now: storeT0)
                #expect(try await store.value(integration: "slack-bot", key: "alert/fp-1") == "C123/1503435999.000001")
                #expect(try await store.value(integration: "slack-bot", key: "alert/fp-2") == nil)
                latestVersion = try await store.schemaVersion()
            }

            try await withOpenStore(location) { reopened in
                #expect(try await reopened.value(integration: "slack-bot", key: "alert/fp-1") == "C123/1503435999.000001")
                #expect(try await reopened.value(integration: "slack-two", key: "alert/fp-1") == "other")
                try await reopened.removeValue(integration: "slack-bot", key: "alert/fp-1")
                #expect(try await reopened.value(integration: "slack-bot", key: "alert/fp-1") == nil)
                #expect(try await reopened.value(integration: "slack-two", key: "alert/fp-1") == "other")
                #expect(try await reopened.schemaVersion() == latestVersion)
                #expect(try await reopened.schemaVersion() == expectedSchemaVersion(kind))
            }
        }
    }

    @Test("concurrent writers each see their own value committed", arguments: StoreKind.allCases)
    func concurrentWrites(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask { try await store.setValue("v\(index)", integration: "i", key: "k\(index)", now: storeT0) }
                }
                try await group.waitForAll()
            }
            for index in 0..<50 {
                #expect(try await store.value(integration: "i", key: "k\(index)") == "v\(index)")
            }
        }
    }
}
