package org.deltadit.weights;

import java.util.ArrayList;
import java.util.List;

/**
 * The checkpoint layouts we read, told apart by keys only they have. Each maps to its model's
 * canonical names through {@link KeyMap}: official DiT names for DiT, original PixArt names for
 * PixArt-α, current diffusers names for the VAE, Hugging Face names for T5.
 */
public enum CheckpointFormat {
    DIT_OFFICIAL("DiT, official layout (facebookresearch/DiT)", "y_embedder.embedding_table.weight", "x_embedder.proj.weight"),
    DIT_DIFFUSERS("DiT, diffusers layout (DiTTransformer2DModel)", "transformer_blocks.0.norm1.emb.class_embedder.embedding_table.weight", "proj_out_2.weight"),
    PIXART_ORIGINAL("PixArt-α, original layout (PixArt / PixArtMS .pth)", "t_block.1.weight", "y_embedder.y_proj.fc1.weight"),
    PIXART_DIFFUSERS("PixArt-α, diffusers layout (PixArtTransformer2DModel)", "adaln_single.linear.weight", "caption_projection.linear_1.weight"),
    SD3_DIFFUSERS("Stable Diffusion 3 MMDiT, diffusers layout (SD3Transformer2DModel)", "context_embedder.weight", "transformer_blocks.0.attn.add_q_proj.weight"),
    UNET_DIFFUSERS("Stable Diffusion U-Net, diffusers layout (UNet2DConditionModel)", "conv_in.weight", "down_blocks.0.resnets.0.conv1.weight"),
    VAE("AutoencoderKL (diffusers), attention named to_q/to_k/to_v/to_out.0", "decoder.conv_in.weight", "decoder.mid_block.attentions.0.to_q.weight"),
    VAE_LEGACY_ATTENTION("AutoencoderKL (diffusers), attention named query/key/value/proj_attn", "decoder.conv_in.weight", "decoder.mid_block.attentions.0.query.weight"),
    T5_ENCODER("T5 encoder (Hugging Face T5EncoderModel)", "encoder.block.0.layer.0.SelfAttention.q.weight", "encoder.final_layer_norm.weight");

    private final String description;
    private final String[] marks;

    CheckpointFormat(String description, String... marks) {
        this.description = description;
        this.marks = marks;
    }

    public String description() { return description; }

    /** True for the DiT formats (class-conditional, no text). */
    public boolean isDit() { return this == DIT_OFFICIAL || this == DIT_DIFFUSERS; }

    /** True for Stable Diffusion 3's MMDiT. */
    public boolean isSd3() { return this == SD3_DIFFUSERS; }

    /** True for Stable Diffusion 1.x's U-Net. */
    public boolean isUNet() { return this == UNET_DIFFUSERS; }

    /** True for the PixArt-α transformer formats (text-conditional). */
    public boolean isPixArt() { return this == PIXART_ORIGINAL || this == PIXART_DIFFUSERS; }

    /** The format whose marker keys the state dict has; an unknown layout is a {@link CheckpointException}. */
    public static CheckpointFormat detect(StateDict sd) {
        for (CheckpointFormat f : values()) {
            boolean all = true;
            for (String k : f.marks) all &= sd.has(k);
            if (all) return f;
        }
        // the single-file bundles of Stable Diffusion (U-Net or MMDiT, VAE and text encoders in one file, original key names)
        if (sd.has("model.diffusion_model.input_blocks.0.0.weight") || sd.has("model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight")) {
            boolean sd3 = sd.has("model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight");
            throw new CheckpointException(sd.source() + ": a single-file " + (sd3 ? "Stable Diffusion 3" : "Stable Diffusion U-Net (1.x, 2.x, XL)") + " checkpoint (original key names, "
                    + "all parts in one file), which is not read here; use the model's diffusers repository (" + (sd3 ? "transformer/, text_encoder*/, tokenizer*/, vae/"
                    : "unet/, text_encoder/, tokenizer/, vae/") + ")");
        }
        List<String> first = new ArrayList<>();
        for (String k : sd.keys()) {
            if (first.size() == 5) break;
            first.add(k);
        }
        throw new CheckpointException(sd.source() + ": unrecognised checkpoint layout (" + sd.size() + " keys, first: " + String.join(", ", first)
                + "); expected DiT, PixArt-α, SD3 MMDiT, SD U-Net, AutoencoderKL or T5 encoder names");
    }
}
