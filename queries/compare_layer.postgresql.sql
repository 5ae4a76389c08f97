SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons, sum(CASE WHEN (CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) > %(param_3)s AND CAST(nullif(s1.vals[(neuron.unit %% %(unit_2)s::INTEGER + %(param_4)s::INTEGER)], CAST(%(param_5)s::VARCHAR AS REAL)) AS FLOAT) <= %(param_6)s) THEN %(param_7)s::INTEGER ELSE %(param_8)s::INTEGER END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_3)s::INTEGER LEFT OUTER JOIN score_vector AS s1 ON s1.set_id IN (__[POSTCOMPILE_set_id_2]) AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / %(unit_4)s::INTEGER 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND CAST(neuron.layer AS FLOAT) / CAST(CAST(model.n_layers AS FLOAT) AS FLOAT) < %(param_9)s AND neuron.site = %(site_1)s::VARCHAR GROUP BY model.name, neuron.layer ORDER BY model.name COLLATE "C", neuron.layer
-- parameters: {'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'param_3': 0.5, 'unit_2': 256, 'param_4': 1, 'param_5': 'NaN', 'param_6': 0.5, 'param_7': 1, 'param_8': 0, 'set_id_1': [217, 163], 'unit_3': 256, 'set_id_2': [230, 176], 'unit_4': 256, 'model_id_1': [3, 2], 'param_9': 0.5, 'site_1': 'mlp'}
-- score sets read:
-- selectivity(negation) of minilm: run 5, method row 3 {}
-- selectivity(negation) of gpt2: run 4, method row 3 {}
-- ap(question) of minilm: run 5, method row 4 {}
-- ap(question) of gpt2: run 4, method row 4 {}
