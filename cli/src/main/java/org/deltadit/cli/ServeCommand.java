package org.deltadit.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.deltadit.serve.ServeOptions;
import org.deltadit.serve.Server;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit serve}: the HTTP API and the comparison page (serve/README.md), until Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Serve an HTTP API and a web page that generate and compare cache policies side by side.")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "PATH or NAME=PATH, repeatable (default: the demo model, as 'demo'); clients name models, never paths")
    List<String> models;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to bind (default: ${DEFAULT-VALUE}, this machine only)")
    String host;
    @Option(names = "--port", defaultValue = "8080", description = "(default: ${DEFAULT-VALUE}; 0 picks a free one)")
    int port;
    @Option(names = "--concurrency", defaultValue = "1", description = "generations at once per model (default: ${DEFAULT-VALUE})")
    int concurrency;
    @Option(names = "--max-queue", defaultValue = "16", description = "jobs waiting per model before 429 (default: ${DEFAULT-VALUE})")
    int maxQueue;
    @Option(names = "--max-count", defaultValue = "16", description = "images per request (default: ${DEFAULT-VALUE})")
    int maxCount;
    @Option(names = "--max-steps", defaultValue = "100", description = "steps per request (default: ${DEFAULT-VALUE})")
    int maxSteps;
    @Option(names = "--job-ttl", defaultValue = "600", description = "seconds a finished job and its images are kept (default: ${DEFAULT-VALUE})")
    long jobTtl;
    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() throws InterruptedException {
        Map<String, Path> named = new LinkedHashMap<>();
        if (models == null || models.isEmpty()) named.put("demo", DemoModel.path());
        else for (String m : models) {
            int eq = m.indexOf('=');
            String name = eq > 0 ? m.substring(0, eq) : Path.of(m).getFileName().toString().replaceFirst("\\.(safetensors|pt|pth|bin)$", "");
            Path path = Path.of(eq > 0 ? m.substring(eq + 1) : m);
            if (!Files.exists(path)) throw new IllegalArgumentException("--model: " + path + ": no such file or folder");
            if (named.put(name, path) != null) throw new IllegalArgumentException("--model: the name '" + name + "' is given twice (use NAME=PATH)");
        }
        ServeOptions o = new ServeOptions(host, port, named, engine.device, engine.threads, concurrency, maxQueue, maxCount, maxSteps, jobTtl);
        System.err.println("dit: loading " + String.join(", ", named.keySet()) + " …");
        Server server = new Server(o);
        int bound;
        try {
            bound = server.start();
        } catch (RuntimeException e) {
            server.close();
            throw new IllegalArgumentException("--port: cannot listen on " + host + ":" + port + " (" + rootMessage(e) + ")");
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("dit: stopping: running jobs are cancelled between steps");
            server.close();
            stopped.countDown();
        }, "dit-serve-shutdown"));
        System.err.println("dit: serving " + String.join(", ", named.keySet()) + " on http://" + host + ":" + bound + "/ (Ctrl-C stops)");
        stopped.await();
        return 0;
    }

    private static String rootMessage(Throwable e) {
        while (e.getCause() != null) e = e.getCause();
        return e.getMessage();
    }
}
