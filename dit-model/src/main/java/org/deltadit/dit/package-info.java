/**
 * Models: DiT, PixArt-alpha, VAE decoder, T5 encoder; each exposes its block stack and knows nothing about caching.
 *
 * <p>Placeholder until its issue lands; see the module README.
 */
package org.deltadit.dit;
