import ScribeCore
import ArgumentParser
import Logging
import Operations

/// `--log-format` and `--log-level`, shared by every command that logs:
/// `@OptionGroup var logging: LoggingOptions`, then `logging.bootstrap()` first in `run()`.
struct LoggingOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Log line format: logfmt or json (default: $SCRIBE_LOG_FORMAT, else logfmt).", valueName: "format"))
    var logFormat: String?

    @Option(help: ArgumentHelp(
        "Lowest level logged: trace, debug, info, notice, warning, error or critical (default: $SCRIBE_LOG_LEVEL, else info).",
        valueName: "level"))
    var logLevel: String?

    func validate() throws {
        do {
            _ = try resolved(environment: ProcessEnvironment.current)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The format and level from the flags, else the environment, else the defaults.
    func resolved(environment: [String: String]) throws(ScribeLogging.ConfigurationError) -> (LogFormat, Logger.Level) {
        (try ScribeLogging.format(flag: logFormat, environment: environment),
         try ScribeLogging.level(flag: logLevel, environment: environment))
    }

    /// Sends every logger's lines to standard error in the chosen format.
    func bootstrap() {
        // validate() has already rejected bad values; fall back to the defaults anyway.
        let (format, level) = (try? resolved(environment: ProcessEnvironment.current)) ?? (.logfmt, .info)
        ScribeLogging.bootstrap(format: format, level: level)
    }
}
