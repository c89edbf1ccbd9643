import ScribeCore
import ArgumentParser
import Engine
import Foundation
import Inference

/// Runs JSONL request lines through an engine and writes one result line per input line,
/// in input order.
struct BatchRunner {
    let engine: Engine

    struct Summary {
        var requests = 0
        var errors = 0
        var generatedTokens = 0
        var seconds = 0.0
    }

    static func readLines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
    }

    /// Steps the engine until every submitted request has finished.
    static func drain(_ engine: Engine) -> [GenerationResult] {
        var results: [GenerationResult] = []
        while !engine.isIdle { results += engine.step() }
        return results
    }


    func run(lines: [String], write: (String) -> Void) throws -> Summary {
        let start = ContinuousClock.now
        var summary = Summary()
        var pending: [Int: String] = [:]  // line number → finished output line
        var nextToWrite = 1
        var echoedIDs: [Int: JSONValue] = [:]
        var lineNumber = 0
        let window = engine.configuration.maxRunning * 2
        func flush() {
            while let line = pending.removeValue(forKey: nextToWrite) {
                write(line)
                nextToWrite += 1
            }
            while nextToWrite <= lineNumber, lines[nextToWrite - 1].allSatisfy(\.isWhitespace) { nextToWrite += 1 }
        }
        func collect(_ results: [GenerationResult]) {
            for result in results {
                let number = Int(result.requestID)!
                summary.generatedTokens += result.completionTokens
                if case .failure = result.outcome { summary.errors += 1 }
                pending[number] = ResultLine.encode(result, id: echoedIDs.removeValue(forKey: number) ?? .null, line: number)
            }
            flush()
        }
        for text in lines {
            lineNumber += 1
            guard !text.allSatisfy(\.isWhitespace) else { flush(); continue }
            summary.requests += 1
            do {
                let value = try JSONValue.parse(text)
                guard case .object(let object) = value else { throw GenerationError("the line is not a JSON object") }
                echoedIDs[lineNumber] = object["id"] ?? .null
                engine.submit(try GenerationRequest.parse(object, id: String(lineNumber)))
            } catch let error as GenerationError {
                summary.errors += 1
                pending[lineNumber] = ResultLine.error(id: echoedIDs.removeValue(forKey: lineNumber) ?? .null, line: lineNumber, message: error.description)
            } catch {
                summary.errors += 1
                pending[lineNumber] = ResultLine.error(id: .null, line: lineNumber, message: "invalid JSON: \(error)")
            }
            while engine.load >= window { collect(engine.step()) }
            flush()
        }
        while !engine.isIdle { collect(engine.step()) }
        flush()
        summary.seconds = (ContinuousClock.now - start).seconds
        return summary
    }
}
