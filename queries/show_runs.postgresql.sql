SELECT run.id AS id, model.name AS model, corpus.name AS corpus, run.status AS status, run.n_words AS n_words, EXISTS (SELECT * 
FROM score 
WHERE score.run_id = run.id) AS has_scores 
FROM run JOIN model ON model.id = run.model_id JOIN corpus ON corpus.id = run.corpus_id ORDER BY run.id 
 LIMIT %(param_1)s::INTEGER
-- parameters: {'param_1': 10000}
