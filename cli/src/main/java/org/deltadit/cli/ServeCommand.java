package org.deltadit.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.deltadit.pipeline.ModelSpec;
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
    @Option(names = "--vae", description = "[NAME=]PATH, repeatable: a model's AutoencoderKL (a bare DiT .pt has none; without NAME=, every model's)")
    List<String> vaes;
    @Option(names = "--text-encoder", description = "[NAME=]PATH, repeatable: a text-to-image model's T5 encoder folder (without NAME=, every model's)")
    List<String> textEncoders;
    @Option(names = "--tokenizer", description = "[NAME=]PATH, repeatable: its tokenizer folder or spiece.model (without NAME=, every model's)")
    List<String> tokenizers;
    @Option(names = "--heads", description = "[NAME=]N, repeatable: attention heads when config and shapes do not tell")
    List<String> heads;
    @Option(names = "--image-size", description = "[NAME=]PX, repeatable: the size to serve (default: what the model was trained for)")
    List<String> imageSizes;
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
        Map<String, ModelSpec> named = specs();
        ServeOptions o = new ServeOptions(host, port, named, concurrency, maxQueue, maxCount, maxSteps, jobTtl);
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

    /** Each served name's model and the parts given for it (the per-model flags say NAME=, or apply to every model). */
    Map<String, ModelSpec> specs() {
        Map<String, ModelSpec.Builder> named = new LinkedHashMap<>();
        if (models == null || models.isEmpty()) named.put("demo", ModelSpec.builder().model(DemoModel.path()));
        else for (String m : models) {
            int eq = m.indexOf('=');
            String name = eq > 0 ? m.substring(0, eq) : Path.of(m).getFileName().toString().replaceFirst("\\.(safetensors|pt|pth|bin)$", "");
            if (named.put(name, ModelSpec.builder().model(existing("--model", eq > 0 ? m.substring(eq + 1) : m))) != null) {
                throw new IllegalArgumentException("--model: the name '" + name + "' is given twice (use NAME=PATH)");
            }
        }
        perModel("--vae", vaes, named, (b, v) -> b.vae(existing("--vae", v)));
        perModel("--text-encoder", textEncoders, named, (b, v) -> b.textEncoder(existing("--text-encoder", v)));
        perModel("--tokenizer", tokenizers, named, (b, v) -> b.tokenizer(existing("--tokenizer", v)));
        perModel("--heads", heads, named, (b, v) -> b.heads(number("--heads", v)));
        perModel("--image-size", imageSizes, named, (b, v) -> b.imageSize(number("--image-size", v)));
        Map<String, ModelSpec> specs = new LinkedHashMap<>();
        named.forEach((name, b) -> specs.put(name, b.device(engine.device).threads(engine.threads).build()));
        return specs;
    }

    /** Applies each [NAME=]VALUE of {@code flag} to the named model, or to every model without a name. */
    private static void perModel(String flag, List<String> values, Map<String, ModelSpec.Builder> named,
                                 java.util.function.BiConsumer<ModelSpec.Builder, String> set) {
        if (values == null) return;
        for (String v : values) {
            int eq = v.indexOf('=');
            if (eq <= 0) {
                for (ModelSpec.Builder b : named.values()) set.accept(b, v);
                continue;
            }
            String name = v.substring(0, eq);
            ModelSpec.Builder b = named.get(name);
            if (b == null) throw new IllegalArgumentException(flag + ": no model named '" + name + "' is served (" + String.join(", ", named.keySet()) + ")");
            set.accept(b, v.substring(eq + 1));
        }
    }

    private static Path existing(String flag, String path) {
        Path p = Path.of(path);
        if (!Files.exists(p)) throw new IllegalArgumentException(flag + ": " + p + ": no such file or folder");
        return p;
    }

    /** The number a flag gives; its range is ModelSpec's to check, as for every other command. */
    private static int number(String flag, String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + ": " + v + " (a whole number)");
        }
    }

    private static String rootMessage(Throwable e) {
        while (e.getCause() != null) e = e.getCause();
        return e.getMessage();
    }
}
