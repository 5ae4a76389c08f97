SELECT top_activation.rank AS rank, token.form AS token, top_activation.value AS value, sentence."index" AS sentence, token.position AS position, token.sentence_id AS sentence_id, top_activation.run_id AS run 
FROM top_activation JOIN run ON run.id = top_activation.run_id JOIN token ON token.corpus_id = run.corpus_id AND token."row" = top_activation."row" JOIN sentence ON sentence.id = token.sentence_id 
WHERE top_activation.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = ? AND neuron.site = ? AND neuron.layer = ? AND neuron.unit = ?) AND top_activation.run_id = (SELECT max(ta2.run_id) AS max_1 
FROM top_activation AS ta2 JOIN run AS r2 ON r2.id = ta2.run_id 
WHERE ta2.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = ? AND neuron.site = ? AND neuron.layer = ? AND neuron.unit = ?) AND r2.status = ?) ORDER BY top_activation.rank
 LIMIT ? OFFSET ?
-- parameters: {'model_id_1': 3, 'site_1': 'mlp', 'layer_1': 2, 'unit_1': 0, 'status_1': 'done', 'param_1': 21, 'param_2': 0}
