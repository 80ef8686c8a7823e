/* models.c — the models the API serves: loading their chat templates,
 * finding them by id, and GET /v1/models and /v1/models/{model} in
 * OpenAI's shape. */
#include "routes.h"

#include "../engine/chat_template.h"
#include "../json/json.h"

#include <stdio.h>
#include <string.h>

/* What a model without a template of its own is prompted with. */
static const char chatml_template[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/* Whether template t shows the model a request's tools: rendered once with
 * a probe function, its name appears or it does not (a name found in the
 * prompt by chance, or a template that raises on tools, would mislead a
 * per-request search). */
static bool shows_tools(const chat_template *t) {
  static const char probe[] =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"add_generation_prompt\":true,"
      "\"bos_token\":\"\",\"eos_token\":\"\",\"tools\":[{\"type\":\"function\",\"function\":"
      "{\"name\":\"hearth_probe_function\",\"description\":\"probe\",\"parameters\":"
      "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"}}}}}]}";
  hr_arena *a = hr_arena_new(1 << 14);
  json_value *v;
  bool shows = false;
  if (a && !json_read(a, probe, sizeof probe - 1, NULL, &v, NULL)) {
    jinja_value *context = jinja_from_json(a, v);
    hr_buf out = HR_BUF_INIT;
    char terr[128];
    if (context && !chat_template_render(t, a, context, NULL, &out, terr, sizeof terr))
      shows = out.data && memmem(out.data, out.len, "hearth_probe_function", 21);
    hr_buf_free(&out);
  }
  hr_arena_free(a);
  return shows;
}

int api_add_model(api_context *ctx, eng_model *m, const char *template_override, char *err,
                  size_t err_len) {
  if (ctx->n_models >= API_MODELS_MAX) {
    snprintf(err, err_len, "at most %d models", API_MODELS_MAX);
    return HR_ERANGE;
  }
  api_model *am = &ctx->models[ctx->n_models];
  memset(am, 0, sizeof *am);
  eng_model_get_info(m, &am->info);
  if (api_find_model(ctx, hr_str_cstr(am->info.name))) {
    snprintf(err, err_len, "two models are named '%s'; give one an --alias", am->info.name);
    return HR_EINVAL;
  }
  if (!am->info.is_embedding) {
    hr_str src = eng_model_chat_template(m);
    if (template_override) src = hr_str_cstr(template_override);
    if (!src.len) src = HR_STR(chatml_template);
    char terr[256];
    if (chat_template_compile(src.ptr, src.len, &am->tmpl, terr, sizeof terr)) {
      snprintf(err, err_len, "model %s: its chat template does not compile: %s", am->info.name,
               terr);
      return HR_EFORMAT;
    }
    am->template_shows_tools = shows_tools(am->tmpl);
  }
  am->engine = m;
  /* Handlers on the loops read n_models: the entry is complete first. */
  atomic_fetch_add_explicit(&ctx->n_models, 1, memory_order_release);
  return HR_OK;
}

api_model *api_find_model(api_context *ctx, hr_str name) {
  int n = atomic_load_explicit(&ctx->n_models, memory_order_acquire);
  for (int i = 0; i < n; i++)
    if (hr_str_eq_cstr(name, ctx->models[i].info.name)) return &ctx->models[i];
  return NULL;
}

void api_model_not_found(http_req *r, api_context *ctx, hr_str name) {
  /* the name as sent, its first 200 bytes, control bytes (a NUL would end
   * the message early and name another model) as \xNN */
  char shown[4 * 200 + 1];
  size_t o = 0;
  for (size_t i = 0; i < name.len && i < 200; i++) {
    unsigned char ch = (unsigned char)name.ptr[i];
    if (ch < 0x20 || ch == 0x7f) o += (size_t)snprintf(shown + o, sizeof shown - o, "\\x%02x", ch);
    else shown[o++] = (char)ch;
  }
  shown[o] = 0;
  http_respond_error(r, 404, "invalid_request_error", "model_not_found", "model",
                     "The model '%s' does not exist or is not served here%s", shown,
                     atomic_load(&ctx->n_models) ? "; GET /v1/models lists the models"
                                                 : ": no model is loaded");
}

void api_close_models(api_context *ctx) {
  for (int i = 0; i < ctx->n_models; i++) {
    eng_model_close(ctx->models[i].engine);
    chat_template_free(ctx->models[i].tmpl);
  }
  atomic_store(&ctx->n_models, 0);
}

static void write_model(json_writer *w, const api_model *m) {
  json_w_obj_begin(w);
  json_w_key(w, "id");
  json_w_str(w, m->info.name);
  json_w_key(w, "object");
  json_w_str(w, "model");
  json_w_key(w, "created");
  json_w_int(w, m->info.created);
  json_w_key(w, "owned_by");
  json_w_str(w, "hearth");
  /* hearth's own facts, beside OpenAI's fields */
  json_w_key(w, "meta");
  json_w_obj_begin(w);
  json_w_key(w, "arch");
  json_w_str(w, m->info.arch);
  json_w_key(w, "type");
  json_w_str(w, m->info.type_name ? m->info.type_name : "");
  json_w_key(w, "kind");
  json_w_str(w, m->info.is_embedding ? "embedding" : "chat");
  json_w_key(w, "context_length");
  json_w_int(w, m->info.n_ctx);
  json_w_key(w, "context_length_train");
  json_w_int(w, m->info.n_ctx_train);
  json_w_key(w, "embedding_length");
  json_w_int(w, m->info.n_embd);
  json_w_key(w, "vocab_size");
  json_w_int(w, m->info.n_vocab);
  json_w_key(w, "slots");
  json_w_int(w, m->info.n_slots);
  json_w_key(w, "size_bytes");
  json_w_uint(w, m->info.file_bytes);
  json_w_obj_end(w);
  json_w_obj_end(w);
}

static void on_list(http_req *r, void *data) {
  api_context *ctx = data;
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_obj_begin(&w);
  json_w_key(&w, "object");
  json_w_str(&w, "list");
  json_w_key(&w, "data");
  json_w_arr_begin(&w);
  int n = atomic_load_explicit(&ctx->n_models, memory_order_acquire);
  for (int i = 0; i < n; i++) write_model(&w, &ctx->models[i]);
  json_w_arr_end(&w);
  json_w_obj_end(&w);
  json_w_finish(&w);
  http_respond_json(r, 200, &b);
  hr_buf_free(&b);
}

static void on_get(http_req *r, void *data) {
  api_context *ctx = data;
  hr_str id = http_req_param(r, "model");
  api_model *m = api_find_model(ctx, id);
  if (!m) {
    api_model_not_found(r, ctx, id);
    return;
  }
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  write_model(&w, m);
  json_w_finish(&w);
  http_respond_json(r, 200, &b);
  hr_buf_free(&b);
}

int api_register_models(http_server *s, api_context *ctx) {
  int rc = http_server_route(s, HTTP_GET, "/v1/models", on_list, ctx, 0);
  if (!rc) rc = http_server_route(s, HTTP_GET, "/v1/models/{model...}", on_get, ctx, 0);
  return rc;
}

/* ---- metrics -------------------------------------------------------------- */

static const double lat_bounds_s[API_LAT_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,    2.5,   5,    10,  30};

static void observe(_Atomic uint64_t *buckets, _Atomic uint64_t *sum_us, double ms) {
  int b = 0;
  while (b < API_LAT_BUCKETS && ms / 1000.0 > lat_bounds_s[b]) b++;
  atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(sum_us, (uint64_t)(ms * 1000.0), memory_order_relaxed);
}

void api_model_observe(api_model *m, const eng_event *done) {
  api_model_metrics *x = &m->metrics;
  atomic_fetch_add(&x->done, 1);
  switch (done->finish) {
  case ENG_FINISH_STOP: atomic_fetch_add(&x->finish_stop, 1); break;
  case ENG_FINISH_LENGTH: atomic_fetch_add(&x->finish_length, 1); break;
  case ENG_FINISH_CANCELLED: atomic_fetch_add(&x->finish_cancelled, 1); break;
  default: atomic_fetch_add(&x->finish_error, 1); break;
  }
  observe(x->queue, &x->queue_sum_us, done->queue_ms);
  if (done->n_generated > 0) observe(x->ttft, &x->ttft_sum_us, done->ttft_ms);
  if (done->n_generated > 1) {
    observe(x->itl, &x->itl_sum_us, done->gen_ms / (done->n_generated - 1));
    atomic_fetch_add(&x->itl_count, 1);
  }
}

static void histogram(hr_buf *o, const char *name, const char *model, _Atomic uint64_t *b,
                      _Atomic uint64_t *sum_us) {
  uint64_t cum = 0;
  for (int i = 0; i <= API_LAT_BUCKETS; i++) {
    cum += atomic_load(&b[i]);
    if (i < API_LAT_BUCKETS)
      hr_buf_appendf(o, "%s_bucket{model=\"%s\",le=\"%g\"} %llu\n", name, model, lat_bounds_s[i],
                     (unsigned long long)cum);
    else
      hr_buf_appendf(o, "%s_bucket{model=\"%s\",le=\"+Inf\"} %llu\n", name, model,
                     (unsigned long long)cum);
  }
  hr_buf_appendf(o, "%s_sum{model=\"%s\"} %.6f\n%s_count{model=\"%s\"} %llu\n", name, model,
                 (double)atomic_load(sum_us) / 1e6, name, model, (unsigned long long)cum);
}

void api_models_metrics(api_context *ctx, hr_buf *o) {
  int n = atomic_load_explicit(&ctx->n_models, memory_order_acquire);
  static const char *hist[][2] = {
      {"hearth_model_time_to_first_token_seconds", "Time from a request's arrival to its first token."},
      {"hearth_model_inter_token_seconds", "Mean time between two tokens of a request."},
      {"hearth_model_queue_wait_seconds", "Time a request waited for a slot."},
  };
  for (int h = 0; h < 3; h++) {
    hr_buf_appendf(o, "# HELP %s %s\n# TYPE %s histogram\n", hist[h][0], hist[h][1], hist[h][0]);
    for (int i = 0; i < n; i++) {
      api_model_metrics *x = &ctx->models[i].metrics;
      _Atomic uint64_t *b = h == 0 ? x->ttft : h == 1 ? x->itl : x->queue;
      _Atomic uint64_t *sum = h == 0 ? &x->ttft_sum_us : h == 1 ? &x->itl_sum_us : &x->queue_sum_us;
      histogram(o, hist[h][0], ctx->models[i].info.name, b, sum);
    }
  }
  hr_buf_append_str(o,
      "# HELP hearth_model_requests_total Generation requests by how they ended.\n"
      "# TYPE hearth_model_requests_total counter\n");
  for (int i = 0; i < n; i++) {
    api_model_metrics *x = &ctx->models[i].metrics;
    const char *name = ctx->models[i].info.name;
    hr_buf_appendf(o,
                   "hearth_model_requests_total{model=\"%s\",finish=\"stop\"} %llu\n"
                   "hearth_model_requests_total{model=\"%s\",finish=\"length\"} %llu\n"
                   "hearth_model_requests_total{model=\"%s\",finish=\"cancelled\"} %llu\n"
                   "hearth_model_requests_total{model=\"%s\",finish=\"error\"} %llu\n",
                   name, (unsigned long long)atomic_load(&x->finish_stop), name,
                   (unsigned long long)atomic_load(&x->finish_length), name,
                   (unsigned long long)atomic_load(&x->finish_cancelled), name,
                   (unsigned long long)atomic_load(&x->finish_error));
  }
  static const char *gauges[][3] = {
      {"hearth_model_active_sequences", "gauge", "Sequences being decoded now."},
      {"hearth_model_waiting_requests", "gauge", "Requests waiting for a slot now."},
      {"hearth_model_prompt_tokens_total", "counter", "Prompt tokens received."},
      {"hearth_model_cached_prompt_tokens_total", "counter", "Prompt tokens reused from the prompt cache."},
      {"hearth_model_prompt_cache_hits_total", "counter", "Requests that reused cached prompt tokens."},
      {"hearth_model_generated_tokens_total", "counter", "Tokens generated."},
      {"hearth_model_cancellations_total", "counter", "Requests cancelled (client gone, or shutdown)."},
      {"hearth_model_rejected_total", "counter", "Requests refused with 503: the queue was full."},
      {"hearth_model_busy_seconds_total", "counter", "Time spent in forward steps (tokens/s = generated / busy)."},
      {"hearth_model_mixed_steps_total", "counter", "Forward steps that carried prompt tokens beside generating sequences."},
      {"hearth_model_mixed_step_prompt_tokens_max", "gauge", "Most prompt tokens in one such step (it sets the generating streams' longest inter-token gap)."},
      {"hearth_model_embedded_texts_total", "counter", "Texts an encoder embedded."},
      {"hearth_model_encoder_passes_total", "counter", "Encoder passes they went through (texts of concurrent requests share passes)."},
  };
  for (size_t g = 0; g < HR_ARRAY_LEN(gauges); g++) {
    hr_buf_appendf(o, "# HELP %s %s\n# TYPE %s %s\n", gauges[g][0], gauges[g][2], gauges[g][0],
                   gauges[g][1]);
    for (int i = 0; i < n; i++) {
      eng_stats st;
      eng_model_stats(ctx->models[i].engine, &st);
      double v[] = {st.active, st.waiting, (double)st.prompt_tokens, (double)st.cached_tokens,
                    (double)st.cache_hits, (double)st.generated_tokens, (double)st.cancelled,
                    (double)st.rejected_busy, st.busy_seconds, (double)st.mixed_steps,
                    (double)st.mixed_prompt_max, (double)st.embedded_texts,
                    (double)st.encoder_passes};
      hr_buf_appendf(o, "%s{model=\"%s\"} %.17g\n", gauges[g][0], ctx->models[i].info.name, v[g]);
    }
  }
}
