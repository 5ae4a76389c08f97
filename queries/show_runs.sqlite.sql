SELECT run.id AS id, model.name AS model, corpus.name AS corpus, run.status AS status, run.n_words AS n_words, EXISTS (SELECT * 
FROM score_set 
WHERE score_set.run_id = run.id AND score_set.status = ?) AS has_scores 
FROM run JOIN model ON model.id = run.model_id JOIN corpus ON corpus.id = run.corpus_id ORDER BY run.id
 LIMIT ? OFFSET ?
-- parameters: {'status_1': 'complete', 'param_1': 10001, 'param_2': 0}
