#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process environment as a dictionary, without Foundation. (The `scribe` target
/// has its own copy; this one serves the public conveniences here.)
enum CurrentEnvironment {
    static var variables: [String: String] {
        var result: [String: String] = [:]
        #if canImport(Glibc)
        var pointer = environ
        #else
        var pointer = _NSGetEnviron().pointee!
        #endif
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
