import Operations
import Webhooks

extension DispatcherEvents {
    /// Counts the dispatcher's attempts by outcome (`scribe_webhook_deliveries_total`) and
    /// its database trouble with the worker's own (`scribe_database_errors_total`, `…_reconnects_total`).
    public static func recording(into metrics: ScribeMetrics) -> DispatcherEvents {
        DispatcherEvents(
            attemptFinished: { metrics.webhookDeliveries(.init($0)).increment() },
            databaseError: { metrics.databaseErrors.increment() },
            reconnected: { metrics.databaseReconnects.increment() })
    }
}
