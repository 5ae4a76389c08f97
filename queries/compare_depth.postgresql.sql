SELECT model.name AS model, (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers AS bucket, count(*) AS n_neurons, sum(CASE WHEN (CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) > %(param_3)s) THEN %(param_4)s::INTEGER ELSE %(param_5)s::INTEGER END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_2)s::INTEGER 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = %(site_1)s::VARCHAR GROUP BY model.name, (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers ORDER BY model.name COLLATE "C", (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers
-- parameters: {'layer_1': 4, 'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'param_3': 0.30000001192092896, 'param_4': 1, 'param_5': 0, 'set_id_1': [11, 155], 'unit_2': 256, 'model_id_1': [1, 2], 'site_1': 'mlp'}
-- score sets read:
-- iou(noun) of bert: run 2, method row 2 {}
-- iou(noun) of gpt2: run 4, method row 2 {}
