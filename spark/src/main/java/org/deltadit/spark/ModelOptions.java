package org.deltadit.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The model flags (those of dit generate); every path must name the same files on each node. */
final class ModelOptions {
    @Option(names = "--model", description = "weights file, folder or diffusers repository, on a path every executor sees (default: the demo model, models/demo)")
    Path model;
    @Option(names = "--heads", description = "attention heads when config and shapes do not tell")
    Integer heads;
    @Option(names = "--image-size", description = "output size in pixels (default: what the model was trained for, from its config or pos_embed)")
    Integer imageSize;
    @Option(names = "--vae", description = "AutoencoderKL folder or file for latent models (default: vae/ of a diffusers repository)")
    Path vae;
    @Option(names = "--text-encoder", description = "PixArt: T5 encoder folder (default: text_encoder/ of the repository)")
    Path textEncoder;
    @Option(names = "--tokenizer", description = "PixArt: folder or spiece.model (default: tokenizer/ beside the encoder)")
    Path tokenizer;

    /** The model for executors: absolute paths (executors run in other working folders), with the job's device and threads. */
    ModelRef ref(JobOptions job) {
        Path m = model != null ? model : demoModel();
        if (!Files.exists(m)) throw new IllegalArgumentException("--model: " + m + ": no such file or folder");
        return new ModelRef(abs(m), heads, imageSize, abs(vae), abs(textEncoder), abs(tokenizer), job.device, job.threads);
    }

    /** models/demo under the project root (-Ddit.home, set by the dit-spark launcher), else under the working folder. */
    static Path demoModel() {
        String home = System.getProperty("dit.home");
        Path p = (home == null ? Path.of(".") : Path.of(home)).resolve("models").resolve("demo");
        if (!Files.exists(p.resolve("dit.safetensors"))) throw new IllegalArgumentException("no --model given and the demo model is not in " + p.normalize());
        return p;
    }

    private static String abs(Path p) { return p == null ? null : p.toAbsolutePath().normalize().toString(); }
}
