/* engine — hearth's inference engine: GGUF models on the CPU. The command
 * line tools are declared here; the serving API (model registry, sequences,
 * scheduler) joins them as it lands. */
#ifndef HEARTH_ENGINE_H
#define HEARTH_ENGINE_H

/* `hearth run`: generate from a prompt. Returns the exit status. */
int eng_cli_run(int argc, char **argv);
/* `hearth bench`: llama-bench-style pp/tg tokens per second. */
int eng_cli_bench(int argc, char **argv);
/* `hearth embed`: sentence embeddings from a bert model. */
int eng_cli_embed(int argc, char **argv);
/* `hearth tokenize`: see tokenizer.h. */
int tok_cli_tokenize(int argc, char **argv);

#endif
