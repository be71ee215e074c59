// The webhook receiver both servers deliver to. It records, per alert and
// per status, when the first notification arrived and how many arrived in
// total; that is all the benchmark needs for latency, loss and duplicates.

import Hummingbird

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

enum WebhookReceiver {
    /// Webhook bodies are small (one alert per group), but a server that
    /// batches could send many alerts in one POST.
    static let maxBodyBytes = 64 * 1024 * 1024

    /// Builds the Hummingbird application. `onRunning` receives the port the
    /// server actually bound, which matters when port 0 was requested.
    static func makeApplication(
        host: String,
        port: Int,
        ledger: Ledger,
        onRunning: @escaping @Sendable (Int) -> Void
    ) -> some ApplicationProtocol {
        let router = Router()

        router.post("webhook") { request, _ -> HTTPResponse.Status in
            var request = request
            let body = try await request.collectBody(upTo: maxBodyBytes)
            // Stamp arrival once the whole body is in: that is the moment a
            // real receiver could act on the notification.
            let arrivedAt = benchClock.now
            let payload: WebhookPayload
            do {
                payload = try JSONDecoder().decode(WebhookPayload.self, from: Data(body.readableBytesView))
            } catch {
                ledger.noteMalformedWebhook()
                return .badRequest
            }
            var deliveries: [(id: String, resolved: Bool)] = []
            deliveries.reserveCapacity(payload.alerts.count)
            for alert in payload.alerts {
                // Count every alert of the POST, whatever the grouping. The
                // per-alert status wins; the payload status is the fallback.
                let status = alert.status ?? payload.status ?? "firing"
                deliveries.append((alert.labels["bench_id"] ?? "", status == "resolved"))
            }
            ledger.recordDeliveries(deliveries, at: arrivedAt)
            return .ok
        }

        // Handy for checking by hand that the receiver is up.
        router.get("healthz") { _, _ -> HTTPResponse.Status in .ok }

        return Application(
            router: router,
            configuration: .init(
                address: .hostname(host, port: port),
                serverName: "tocsin-bench-receiver",
                // Alertmanager opens one connection per concurrent notification;
                // a deep accept queue avoids refused connections during bursts.
                backlog: 4096
            ),
            onServerRunning: { channel in
                onRunning(channel.localAddress?.port ?? port)
            }
        )
    }
}
