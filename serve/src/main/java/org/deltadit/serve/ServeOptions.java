package org.deltadit.serve;

import static org.deltadit.engine.InvalidParameter.require;

import java.util.Map;
import org.deltadit.pipeline.ModelSpec;

/**
 * What a server loads and the limits that keep it alive.
 *
 * @param host        address to bind (127.0.0.1 unless the operator says otherwise)
 * @param port        0 picks a free port
 * @param models      name → what to open: the checkpoint and its parts, device and threads (names, never paths, are what clients send)
 * @param concurrency generations running at once per model
 * @param maxQueue    jobs waiting per model before 429
 * @param maxCount    images per job
 * @param maxSteps    steps per job
 * @param jobTtlSeconds how long a finished job and its images are kept
 */
public record ServeOptions(String host, int port, Map<String, ModelSpec> models, int concurrency, int maxQueue,
                           int maxCount, int maxSteps, long jobTtlSeconds) {
    public ServeOptions {
        require(host != null && !host.isBlank(), "host", "empty");
        require(port >= 0 && port <= 65535, "port", port + " (0..65535)");
        require(models != null && !models.isEmpty(), "model", "no model to serve");
        models = Map.copyOf(models);
        require(concurrency >= 1, "concurrency", concurrency + " (at least 1)");
        require(maxQueue >= 0, "maxQueue", maxQueue + " (at least 0)");
        require(maxCount >= 1, "maxCount", maxCount + " (at least 1)");
        require(maxSteps >= 1, "maxSteps", maxSteps + " (at least 1)");
        require(jobTtlSeconds >= 1, "jobTtl", jobTtlSeconds + " (at least 1 second)");
    }
}
