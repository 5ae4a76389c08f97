SELECT model.name AS model, (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers AS bucket, count(*) AS n_neurons, count(CASE WHEN (CAST(nullif(s1.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) > %(param_3)s) THEN CAST(nullif(s0.vals[(neuron.unit %% %(unit_2)s::INTEGER + %(param_4)s::INTEGER)], CAST(%(param_5)s::VARCHAR AS REAL)) AS FLOAT) ELSE NULL END) AS n_values 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_3)s::INTEGER LEFT OUTER JOIN score_vector AS s1 ON s1.set_id IN (__[POSTCOMPILE_set_id_2]) AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / %(unit_4)s::INTEGER 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = %(site_1)s::VARCHAR GROUP BY model.name, (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers ORDER BY model.name COLLATE "C", (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers
-- parameters: {'layer_1': 4, 'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'param_3': 0.5, 'unit_2': 256, 'param_4': 1, 'param_5': 'NaN', 'set_id_1': [155, 209], 'unit_3': 256, 'set_id_2': [163, 217], 'unit_4': 256, 'model_id_1': [2, 3], 'site_1': 'mlp'}
-- score sets read:
-- iou(noun) of gpt2: run 4, method row 2 {}
-- iou(noun) of minilm: run 5, method row 2 {}
-- selectivity(negation) of gpt2: run 4, method row 3 {}
-- selectivity(negation) of minilm: run 5, method row 3 {}
