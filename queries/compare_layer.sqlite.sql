SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons, sum(CASE WHEN (atlas_value(s0.vals, neuron.unit % ?) > ? AND atlas_value(s1.vals, neuron.unit % ?) <= ?) THEN ? ELSE ? END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? LEFT OUTER JOIN score_vector AS s1 ON s1.set_id IN (__[POSTCOMPILE_set_id_2]) AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / ? 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND CAST(neuron.layer AS FLOAT) / (CAST(model.n_layers AS FLOAT) + 0.0) < ? AND neuron.site = ? GROUP BY model.name, neuron.layer ORDER BY model.name, neuron.layer
-- parameters: {'unit_1': 256, 'param_1': 0.5, 'unit_2': 256, 'param_2': 0.5, 'param_3': 1, 'param_4': 0, 'set_id_1': [217, 163], 'unit_3': 256, 'set_id_2': [230, 176], 'unit_4': 256, 'model_id_1': [3, 2], 'param_5': 0.5, 'site_1': 'mlp'}
-- score sets read:
-- selectivity(negation) of minilm: run 5, method row 3 {}
-- selectivity(negation) of gpt2: run 4, method row 3 {}
-- ap(question) of minilm: run 5, method row 4 {}
-- ap(question) of gpt2: run 4, method row 4 {}
