-- Neuron Atlas schema for sqlite. Generated from atlas/store/tables.py by
-- `python -m atlas.store.ddl`; do not edit by hand (tests/store/test_schema.py checks it).

-- Key/value facts about this atlas (marks the database as an atlas; holds the store root).
CREATE TABLE atlas_info (
	"key" VARCHAR(100) NOT NULL,
	value TEXT NOT NULL,
	CONSTRAINT pk_atlas_info PRIMARY KEY ("key")
);

-- A property of words (or of sentences) that methods score neurons against.
--
-- ``kind``: upos, xpos, feat, deprel, word, named, formula, wordlist, regex, position,
-- sentence. ``level``: ``token`` or ``sentence`` (a sentence-level concept marks every token
-- of the sentences that have it, and methods such as ``ap_sentence`` pool over sentences).
CREATE TABLE concept (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	name VARCHAR(200) NOT NULL,
	kind VARCHAR(20) NOT NULL,
	level VARCHAR(10) NOT NULL,
	definition TEXT,
	description TEXT,
	builtin BOOLEAN NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT uq_concept_name UNIQUE (name)
);

-- An annotated text collection; its words are numbered ``row`` 0..n_tokens-1.
CREATE TABLE corpus (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	name VARCHAR(200) NOT NULL,
	source TEXT NOT NULL,
	format VARCHAR(20) NOT NULL,
	license VARCHAR(200),
	n_sentences INTEGER NOT NULL,
	n_tokens INTEGER NOT NULL,
	sha256 VARCHAR(64),
	created_at DATETIME NOT NULL,
	CONSTRAINT uq_corpus_name UNIQUE (name)
);

-- A parameterised scoring method. Two parameterisations are two rows, so their scores
-- never overwrite each other.
CREATE TABLE method (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	name VARCHAR(100) NOT NULL,
	version VARCHAR(20) NOT NULL,
	params JSON NOT NULL,
	params_hash VARCHAR(64) NOT NULL,
	family VARCHAR(30),
	higher_is_more BOOLEAN NOT NULL,
	value_min FLOAT,
	value_max FLOAT,
	description TEXT,
	created_at DATETIME NOT NULL,
	CONSTRAINT uq_method_name_version_params_hash UNIQUE (name, version, params_hash)
);

-- A network whose units the atlas describes (a pretrained model or its random-init control).
CREATE TABLE model (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	name VARCHAR(200) NOT NULL,
	source TEXT NOT NULL,
	revision VARCHAR(200),
	architecture VARCHAR(100) NOT NULL,
	family VARCHAR(50) NOT NULL,
	n_layers INTEGER NOT NULL,
	d_model INTEGER NOT NULL,
	d_mlp INTEGER NOT NULL,
	random_init BOOLEAN NOT NULL,
	parent_id INTEGER,
	config_hash VARCHAR(64),
	config JSON,
	created_at DATETIME NOT NULL,
	CONSTRAINT uq_model_name UNIQUE (name),
	CONSTRAINT fk_model_parent_id_model FOREIGN KEY(parent_id) REFERENCES model (id) ON DELETE SET NULL
);

-- The k words on which a neuron fires most (rank 0 = highest). A fact table without
-- foreign keys (a per-row check slows the bulk COPY).
CREATE TABLE top_activation (
	run_id INTEGER NOT NULL,
	neuron_id INTEGER NOT NULL,
	rank INTEGER NOT NULL,
	"row" INTEGER NOT NULL,
	value FLOAT NOT NULL,
	CONSTRAINT pk_top_activation PRIMARY KEY (run_id, neuron_id, rank)
);

-- Token ``row`` of ``corpus_id`` has ``concept_id``. Written through the bulk path.
CREATE TABLE annotation (
	concept_id INTEGER NOT NULL,
	corpus_id INTEGER NOT NULL,
	"row" INTEGER NOT NULL,
	CONSTRAINT pk_annotation PRIMARY KEY (concept_id, corpus_id, "row"),
	CONSTRAINT fk_annotation_concept_id_concept FOREIGN KEY(concept_id) REFERENCES concept (id) ON DELETE CASCADE,
	CONSTRAINT fk_annotation_corpus_id_corpus FOREIGN KEY(corpus_id) REFERENCES corpus (id) ON DELETE CASCADE
);

-- How many tokens and sentences of a corpus have a concept.
CREATE TABLE concept_count (
	concept_id INTEGER NOT NULL,
	corpus_id INTEGER NOT NULL,
	n_tokens INTEGER NOT NULL,
	n_sentences INTEGER NOT NULL,
	CONSTRAINT pk_concept_count PRIMARY KEY (concept_id, corpus_id),
	CONSTRAINT fk_concept_count_concept_id_concept FOREIGN KEY(concept_id) REFERENCES concept (id) ON DELETE CASCADE,
	CONSTRAINT fk_concept_count_corpus_id_corpus FOREIGN KEY(corpus_id) REFERENCES corpus (id) ON DELETE CASCADE
);

-- One (block, site) of a model: ``width`` units captured at ``hook_point``.
CREATE TABLE layer (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	model_id INTEGER NOT NULL,
	"index" INTEGER NOT NULL,
	site VARCHAR(16) NOT NULL,
	width INTEGER NOT NULL,
	hook_point VARCHAR(300) NOT NULL,
	activation VARCHAR(16) NOT NULL,
	CONSTRAINT uq_layer_model_id_site_index UNIQUE (model_id, site, "index"),
	CONSTRAINT fk_layer_model_id_model FOREIGN KEY(model_id) REFERENCES model (id) ON DELETE CASCADE
);

-- One extraction job (model × corpus × config) and the provenance of all it produced.
CREATE TABLE run (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	model_id INTEGER NOT NULL,
	corpus_id INTEGER NOT NULL,
	config_hash VARCHAR(64) NOT NULL,
	config JSON NOT NULL,
	status VARCHAR(20) NOT NULL,
	store_path TEXT NOT NULL,
	n_words INTEGER NOT NULL,
	rows_done INTEGER NOT NULL,
	provenance JSON,
	words_per_s FLOAT,
	error TEXT,
	started_at DATETIME,
	finished_at DATETIME,
	created_at DATETIME NOT NULL,
	CONSTRAINT fk_run_model_id_model FOREIGN KEY(model_id) REFERENCES model (id) ON DELETE CASCADE,
	CONSTRAINT fk_run_corpus_id_corpus FOREIGN KEY(corpus_id) REFERENCES corpus (id) ON DELETE CASCADE,
	CONSTRAINT uq_run_config_hash UNIQUE (config_hash)
);

CREATE TABLE sentence (
	id INTEGER NOT NULL,
	corpus_id INTEGER NOT NULL,
	"index" INTEGER NOT NULL,
	sent_id VARCHAR(200),
	text TEXT NOT NULL,
	first_row INTEGER NOT NULL,
	n_tokens INTEGER NOT NULL,
	CONSTRAINT pk_sentence PRIMARY KEY (id),
	CONSTRAINT uq_sentence_corpus_id_index UNIQUE (corpus_id, "index"),
	CONSTRAINT fk_sentence_corpus_id_corpus FOREIGN KEY(corpus_id) REFERENCES corpus (id) ON DELETE CASCADE
);

-- One point of a top/random/bottom-k ablation curve (:mod:`atlas.causal.ablation`): the
-- ``k`` neurons a stored ranking (``ap(noun)``, read from score set ``set_id``) puts first,
-- last or at random, clamped together, and what ``metric`` became (the concept probe's
-- ``accuracy``, ``soft_accuracy``, the sentence ``embedding`` change, the LM ``loss`` and
-- ``concept_loss`` increase). ``selection = 'none'``, ``k = 0`` is the unablated model;
-- ``value`` is the mean and ``std`` the spread over the ``n`` random draws. A curve is
-- identified by (run, ranking, params_hash) and replaced as a whole.
CREATE TABLE ablation_curve (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	concept_id INTEGER NOT NULL,
	ranking VARCHAR(200) NOT NULL,
	set_id INTEGER,
	site VARCHAR(20) NOT NULL,
	params JSON NOT NULL,
	params_hash VARCHAR(64) NOT NULL,
	selection VARCHAR(10) NOT NULL,
	k INTEGER NOT NULL,
	metric VARCHAR(50) NOT NULL,
	value FLOAT,
	std FLOAT,
	n INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_ablation_curve PRIMARY KEY (id),
	CONSTRAINT uq_ablation_curve_run_id_ranking_params_hash_selection_k_metric UNIQUE (run_id, ranking, params_hash, selection, k, metric),
	CONSTRAINT fk_ablation_curve_run_id_run FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE,
	CONSTRAINT fk_ablation_curve_concept_id_concept FOREIGN KEY(concept_id) REFERENCES concept (id) ON DELETE CASCADE
);

-- One float16 array ``[n_words, width]`` of a run, for one layer (block × site).
CREATE TABLE activation_file (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	layer_id INTEGER NOT NULL,
	path TEXT NOT NULL,
	n_rows INTEGER NOT NULL,
	width INTEGER NOT NULL,
	dtype VARCHAR(16) NOT NULL,
	sha256 VARCHAR(64),
	CONSTRAINT pk_activation_file PRIMARY KEY (id),
	CONSTRAINT uq_activation_file_run_id_layer_id UNIQUE (run_id, layer_id),
	CONSTRAINT fk_activation_file_run_id_run FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE,
	CONSTRAINT fk_activation_file_layer_id_layer FOREIGN KEY(layer_id) REFERENCES layer (id) ON DELETE CASCADE
);

-- One unit. ``model_id``, ``site`` and ``layer`` are copied from its layer so that queries
-- filter neurons without a join; the canonical id is ``model/site.layer/unit`` (see
-- :mod:`atlas.naming`).
CREATE TABLE neuron (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	layer_id INTEGER NOT NULL,
	model_id INTEGER NOT NULL,
	site VARCHAR(16) NOT NULL,
	layer INTEGER NOT NULL,
	unit INTEGER NOT NULL,
	CONSTRAINT uq_neuron_layer_id_unit UNIQUE (layer_id, unit),
	CONSTRAINT fk_neuron_layer_id_layer FOREIGN KEY(layer_id) REFERENCES layer (id) ON DELETE CASCADE,
	CONSTRAINT fk_neuron_model_id_model FOREIGN KEY(model_id) REFERENCES model (id) ON DELETE CASCADE
);
CREATE INDEX ix_neuron_model_id_neuron_site_neuron_layer_neuron_unit ON neuron (model_id, site, layer, unit);

-- A probe's evaluation on one layer of a run: accuracy on held-out sentences, the majority
-- baseline, accuracy with the top-k / random-k / bottom-k neurons, the control task's accuracy.
--
-- ``task`` is the property or concept the probe predicts (``upos``, ``negation``); ``metric``
-- names the figure (``accuracy``, ``majority``, ``top``, ``random``, ``bottom``, ...).
CREATE TABLE probe_result (
	run_id INTEGER NOT NULL,
	method_id INTEGER NOT NULL,
	layer_id INTEGER NOT NULL,
	task VARCHAR(200) NOT NULL,
	metric VARCHAR(50) NOT NULL,
	value FLOAT,
	CONSTRAINT pk_probe_result PRIMARY KEY (run_id, method_id, layer_id, task, metric),
	CONSTRAINT fk_probe_result_run_id_run FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE,
	CONSTRAINT fk_probe_result_method_id_method FOREIGN KEY(method_id) REFERENCES method (id) ON DELETE CASCADE,
	CONSTRAINT fk_probe_result_layer_id_layer FOREIGN KEY(layer_id) REFERENCES layer (id) ON DELETE CASCADE
);

-- A completed, durable range of corpus rows ``[start_row, end_row)`` of a run.
CREATE TABLE run_chunk (
	run_id INTEGER NOT NULL,
	chunk INTEGER NOT NULL,
	start_row INTEGER NOT NULL,
	end_row INTEGER NOT NULL,
	finished_at DATETIME NOT NULL,
	CONSTRAINT pk_run_chunk PRIMARY KEY (run_id, chunk),
	CONSTRAINT fk_run_chunk_run_id_run FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

-- The unit of truth of scores: one method parameterisation's values for one concept over
-- every neuron of one run, written and replaced atomically.
--
-- ``status`` is ``building`` while a scoring job writes it (invisible to queries; a rerun of
-- the job resumes it) and ``complete`` once every layer is written; completing a set deletes
-- the older complete set of the same (run, method, concept) in the same transaction. Deleting
-- a run, method or concept deletes its sets (foreign keys, ``ON DELETE CASCADE``); ids are
-- never reused (``AUTOINCREMENT`` on SQLite, sequences on PostgreSQL).
CREATE TABLE score_set (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	run_id INTEGER NOT NULL,
	method_id INTEGER NOT NULL,
	concept_id INTEGER NOT NULL,
	status VARCHAR(10) NOT NULL,
	created_at DATETIME NOT NULL,
	finished_at DATETIME,
	CONSTRAINT fk_score_set_run_id_run FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE,
	CONSTRAINT fk_score_set_method_id_method FOREIGN KEY(method_id) REFERENCES method (id) ON DELETE CASCADE,
	CONSTRAINT fk_score_set_concept_id_concept FOREIGN KEY(concept_id) REFERENCES concept (id) ON DELETE CASCADE
);
CREATE INDEX ix_score_set_method_id_score_set_concept_id_score_set_status ON score_set (method_id, concept_id, status);
CREATE INDEX ix_score_set_run_id ON score_set (run_id);

-- A syntactic word. ``row`` is its 0-based position in the corpus and its row in every
-- activation array of every run over this corpus.
CREATE TABLE token (
	id INTEGER NOT NULL,
	corpus_id INTEGER NOT NULL,
	sentence_id INTEGER NOT NULL,
	"row" INTEGER NOT NULL,
	position INTEGER NOT NULL,
	form TEXT NOT NULL,
	lemma TEXT,
	upos VARCHAR(16),
	xpos VARCHAR(32),
	feats TEXT,
	head INTEGER,
	deprel VARCHAR(64),
	misc TEXT,
	space_after BOOLEAN NOT NULL,
	CONSTRAINT pk_token PRIMARY KEY (id),
	CONSTRAINT uq_token_corpus_id_row UNIQUE (corpus_id, "row"),
	CONSTRAINT fk_token_corpus_id_corpus FOREIGN KEY(corpus_id) REFERENCES corpus (id) ON DELETE CASCADE,
	CONSTRAINT fk_token_sentence_id_sentence FOREIGN KEY(sentence_id) REFERENCES sentence (id) ON DELETE CASCADE
);
CREATE INDEX ix_token_sentence_id ON token (sentence_id);

-- A logical formula over concepts that explains a neuron (compositional explanations).
CREATE TABLE explanation (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	neuron_id INTEGER NOT NULL,
	formula TEXT NOT NULL,
	iou FLOAT NOT NULL,
	length INTEGER NOT NULL,
	params JSON,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_explanation PRIMARY KEY (id),
	CONSTRAINT fk_explanation_run_id_run FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE,
	CONSTRAINT fk_explanation_neuron_id_neuron FOREIGN KEY(neuron_id) REFERENCES neuron (id) ON DELETE CASCADE
);
CREATE INDEX ix_explanation_neuron_id ON explanation (neuron_id);

-- Per-neuron statistics over a run's words (NetDissect threshold at quantile 1 - alpha).
CREATE TABLE neuron_stat (
	run_id INTEGER NOT NULL,
	neuron_id INTEGER NOT NULL,
	count INTEGER NOT NULL,
	mean FLOAT NOT NULL,
	std FLOAT NOT NULL,
	min FLOAT NOT NULL,
	max FLOAT NOT NULL,
	threshold FLOAT,
	fire_rate FLOAT,
	CONSTRAINT pk_neuron_stat PRIMARY KEY (run_id, neuron_id),
	CONSTRAINT fk_neuron_stat_run_id_run FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE,
	CONSTRAINT fk_neuron_stat_neuron_id_neuron FOREIGN KEY(neuron_id) REFERENCES neuron (id) ON DELETE CASCADE
);

-- A lab member's note on a neuron or a concept (the shared knowledge base).
CREATE TABLE note (
	id INTEGER NOT NULL,
	neuron_id INTEGER,
	concept_id INTEGER,
	author VARCHAR(200) NOT NULL,
	label VARCHAR(200),
	text TEXT NOT NULL,
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_note PRIMARY KEY (id),
	CONSTRAINT fk_note_neuron_id_neuron FOREIGN KEY(neuron_id) REFERENCES neuron (id) ON DELETE CASCADE,
	CONSTRAINT fk_note_concept_id_concept FOREIGN KEY(concept_id) REFERENCES concept (id) ON DELETE CASCADE
);
CREATE INDEX ix_note_neuron_id ON note (neuron_id);

-- The values of a score set for units ``block * 256 ..`` of one layer, packed (float32;
-- NaN = no value). About 4 bytes a score on both backends, against about 47 for a row per
-- score. SQL users read the long form through the ``score`` view (``schema/*.sql``).
CREATE TABLE score_vector (
	set_id INTEGER NOT NULL,
	layer_id INTEGER NOT NULL,
	block INTEGER NOT NULL,
	vals BLOB NOT NULL,
	CONSTRAINT pk_score_vector PRIMARY KEY (set_id, layer_id, block),
	CONSTRAINT fk_score_vector_set_id_score_set FOREIGN KEY(set_id) REFERENCES score_set (id) ON DELETE CASCADE,
	CONSTRAINT fk_score_vector_layer_id_layer FOREIGN KEY(layer_id) REFERENCES layer (id) ON DELETE CASCADE
)
 WITHOUT ROWID;

-- A link between two neurons (cross-model correlation and similar).
CREATE TABLE similarity (
	id INTEGER NOT NULL,
	neuron_id INTEGER NOT NULL,
	other_neuron_id INTEGER NOT NULL,
	method VARCHAR(100) NOT NULL,
	value FLOAT NOT NULL,
	corpus_id INTEGER,
	CONSTRAINT pk_similarity PRIMARY KEY (id),
	CONSTRAINT fk_similarity_neuron_id_neuron FOREIGN KEY(neuron_id) REFERENCES neuron (id) ON DELETE CASCADE,
	CONSTRAINT fk_similarity_other_neuron_id_neuron FOREIGN KEY(other_neuron_id) REFERENCES neuron (id) ON DELETE CASCADE,
	CONSTRAINT fk_similarity_corpus_id_corpus FOREIGN KEY(corpus_id) REFERENCES corpus (id) ON DELETE CASCADE
);
CREATE INDEX ix_similarity_method_similarity_neuron_id_similarity_value ON similarity (method, neuron_id, value);

-- One row per (complete score set, neuron): the long form of the packed score vectors.
CREATE VIEW score AS
SELECT s.id AS set_id, s.run_id, s.method_id, s.concept_id, n.id AS neuron_id,
       atlas_value(v.vals, n.unit % 256) AS value
FROM score_set AS s
JOIN score_vector AS v ON v.set_id = s.id
JOIN neuron AS n ON n.layer_id = v.layer_id
 AND n.unit >= v.block * 256 AND n.unit < (v.block + 1) * 256
WHERE s.status = 'complete';
