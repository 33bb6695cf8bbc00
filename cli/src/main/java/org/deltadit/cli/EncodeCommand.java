package org.deltadit.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.deltadit.cache.PixArtDenoiser.Text;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backends;
import org.deltadit.weights.SafetensorsWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code dit encode}: captions to T5 features, written for {@code dit generate --text-embeddings}, so
 * the 19 GB encoder need not be loaded for every run (or can run on another machine).
 */
@Command(name = "encode", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Encode captions with the T5 encoder into a safetensors file for 'dit generate --text-embeddings'.")
final class EncodeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "a PixArt diffusers repository (its text_encoder/ and tokenizer/ are used)")
    Path model;
    @Option(names = "--text-encoder", description = "T5 encoder folder (default: text_encoder/ of --model)")
    Path textEncoder;
    @Option(names = "--tokenizer", description = "folder or spiece.model (default: tokenizer/ beside the encoder)")
    Path tokenizer;
    @Option(names = "--prompt", required = true, description = "a caption; repeat for several")
    List<String> prompts;
    @Option(names = "--negative-prompt", defaultValue = "", description = "the unconditional branch's caption (default: empty)")
    String negative;
    @Option(names = "--max-tokens", defaultValue = "120", description = "padded caption length (default: ${DEFAULT-VALUE}, as PixArt-α)")
    int maxTokens;
    @Option(names = "--out", required = true, description = "safetensors file to write: embeds, mask, negative_embeds, negative_mask (F32)")
    Path out;
    @Option(names = "--threads", description = "worker threads (default: all cores)")
    Integer threads;

    @Override
    public Integer call() {
        if (maxTokens < 2) throw new IllegalArgumentException("--max-tokens: " + maxTokens + " (at least 2: a token and </s>)");
        if (threads != null && threads < 1) throw new IllegalArgumentException("--threads: " + threads);
        if (model == null && textEncoder == null) throw new IllegalArgumentException("dit encode: give --model (a PixArt repository) or --text-encoder");
        if (model != null && !Files.isDirectory(model)) throw new IllegalArgumentException("--model: " + model + ": not a folder");
        if (Files.isDirectory(out)) throw new IllegalArgumentException("--out: " + out + " is a folder");
        Backend be = Backends.create("cpu", threads == null ? Runtime.getRuntime().availableProcessors() : threads);
        List<String> texts = new ArrayList<>(prompts);
        texts.add(negative);
        Captions.Sources s = new Captions.Sources(prompts, negative, null, textEncoder, tokenizer, model);
        Text all = Captions.encode(s, be, null, texts, maxTokens);
        int n = prompts.size();
        Map<String, org.deltadit.engine.Tensor> tensors = Captions.file(all.rows(0, n, all.tokens()), all.rows(n, n + 1, all.tokens()));
        SafetensorsWriter.write(out, new java.util.TreeMap<>(tensors), Map.of("max_tokens", String.valueOf(maxTokens)));
        System.err.println("dit: wrote " + n + " caption" + (n == 1 ? "" : "s") + " and the negative prompt → " + out);
        return 0;
    }
}
