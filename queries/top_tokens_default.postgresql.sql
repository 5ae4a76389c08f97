SELECT top_activation.rank AS rank, token.form AS token, top_activation.value AS value, sentence.index AS sentence, token.position AS position, token.sentence_id AS sentence_id, top_activation.run_id AS run 
FROM top_activation JOIN run ON run.id = top_activation.run_id JOIN token ON token.corpus_id = run.corpus_id AND token.row = top_activation.row JOIN sentence ON sentence.id = token.sentence_id 
WHERE top_activation.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND neuron.layer = %(layer_1)s::INTEGER AND neuron.unit = %(unit_1)s::INTEGER) AND top_activation.run_id = (SELECT max(ta2.run_id) AS max_1 
FROM top_activation AS ta2 JOIN run AS r2 ON r2.id = ta2.run_id 
WHERE ta2.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND neuron.layer = %(layer_1)s::INTEGER AND neuron.unit = %(unit_1)s::INTEGER) AND r2.status = %(status_1)s::VARCHAR) ORDER BY top_activation.rank 
 LIMIT %(param_1)s::INTEGER
-- parameters: {'model_id_1': 3, 'site_1': 'mlp', 'layer_1': 2, 'unit_1': 0, 'status_1': 'done', 'param_1': 21}
