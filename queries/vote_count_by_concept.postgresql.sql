SELECT model.name AS model, every_concept.name AS concept, count(*) AS n_neurons, sum(CASE WHEN (CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) >= %(param_3)s) THEN %(param_4)s::INTEGER ELSE %(param_5)s::INTEGER END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_2)s::INTEGER JOIN score_set AS every_set ON every_set.id = s0.set_id JOIN concept AS every_concept ON every_concept.id = every_set.concept_id 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR GROUP BY model.name, every_concept.name ORDER BY model.name COLLATE "C", every_concept.name COLLATE "C"
-- parameters: {'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'param_3': 3.0, 'param_4': 1, 'param_5': 0, 'set_id_1': [370, 371, 372, 373, 374, 375, 376, 377, 378], 'unit_2': 256, 'model_id_1': 2, 'site_1': 'mlp'}
-- score sets read:
-- vote[n=10](*) of gpt2: run 4, method row 10 {"n":10} (9 concepts)
