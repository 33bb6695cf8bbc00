package org.deltadit.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where a text-to-image model's T5 encoder and tokenizer are, for every command that encodes prompts: a diffusers
 * repository has them in text_encoder/ and tokenizer/; a bare checkpoint (PixArt-α's .pth) needs them named.
 */
final class TextEncoderOptions {
    @Option(names = "--text-encoder", description = "T5 encoder folder (default: text_encoder/ of the repository)")
    Path textEncoder;
    @Option(names = "--tokenizer", description = "folder or spiece.model (default: tokenizer/ beside the encoder)")
    Path tokenizer;
}
