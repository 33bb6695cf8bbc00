package org.deltadit.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.deltadit.pipeline.Captions;
import org.deltadit.weights.SafetensorsWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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
    @picocli.CommandLine.Mixin
    TextEncoderOptions text;
    @Option(names = "--prompt", required = true, description = "a caption; repeat for several")
    List<String> prompts;
    @Option(names = "--negative-prompt", defaultValue = "", description = "the unconditional branch's caption (default: empty)")
    String negative;
    @Option(names = "--max-tokens", defaultValue = "120", description = "padded caption length (default: ${DEFAULT-VALUE}, as PixArt-α)")
    int maxTokens;
    @Option(names = "--out", required = true, description = "safetensors file to write: embeds, mask, negative_embeds, negative_mask (F32)")
    Path out;
    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() {
        if (maxTokens < 2 || maxTokens > 4096) throw new IllegalArgumentException("--max-tokens: " + maxTokens + " (2..4096: a token and </s> at least; PixArt-α reads 120)");
        if (model == null && text.textEncoder == null) throw new IllegalArgumentException("dit encode: give --model (a PixArt repository) or --text-encoder");
        if (model != null && !Files.isDirectory(model)) throw new IllegalArgumentException("--model: " + model + ": not a folder");
        org.deltadit.weights.AtomicFiles.checkWritable(out, "--out");
        Map<String, org.deltadit.engine.Tensor> tensors = Captions.encodeFile(model, text.textEncoder, text.tokenizer, prompts, negative, maxTokens, engine.backend());
        SafetensorsWriter.write(out, new TreeMap<>(tensors), Map.of("max_tokens", String.valueOf(maxTokens)));
        int n = prompts.size();
        System.err.println("dit: wrote " + n + " caption" + (n == 1 ? "" : "s") + " and the negative prompt → " + out);
        return 0;
    }
}
