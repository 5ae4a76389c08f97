SELECT model.name AS model, count(*) AS n_neurons, count(CASE WHEN (atlas_value(s1.vals, neuron.unit % ?) IS NOT NULL AND ns.fire_rate > ?) THEN atlas_value(s0.vals, neuron.unit % ?) ELSE NULL END) AS n_values, min(CASE WHEN (atlas_value(s1.vals, neuron.unit % ?) IS NOT NULL AND ns.fire_rate > ?) THEN atlas_value(s0.vals, neuron.unit % ?) ELSE NULL END) AS value 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? LEFT OUTER JOIN score_vector AS s1 ON s1.set_id IN (__[POSTCOMPILE_set_id_2]) AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / ? LEFT OUTER JOIN neuron_stat AS ns ON ns.neuron_id = neuron.id AND ns.run_id IN (__[POSTCOMPILE_run_id_1]) 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = ? GROUP BY model.name ORDER BY model.name
-- parameters: {'unit_1': 256, 'param_1': 0.2, 'unit_2': 256, 'set_id_1': [43, 187], 'unit_3': 256, 'set_id_2': [11, 155], 'unit_4': 256, 'run_id_1': [2, 4], 'model_id_1': [1, 2], 'site_1': 'mlp'}
-- score sets read:
-- probe(upos:NOUN) of bert: run 2, method row 5 {}
-- probe(upos:NOUN) of gpt2: run 4, method row 5 {}
-- iou(noun) of bert: run 2, method row 2 {}
-- iou(noun) of gpt2: run 4, method row 2 {}
